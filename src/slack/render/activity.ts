import type { AuditEntry } from '../../domain/model';
import { escapeText, user, when } from './format';

/** Audit records in words: the one table of how each kind of record reads, and the line that uses it. */

/**
 * How a part of a record was written. `text`: typed by people or plain values, escaped whole.
 * `ids`: composed by Keyhouse around Slack IDs (`<@U…>`, `<#C…>`), whose IDs become mentions.
 * `keyFor`: `name (fingerprint) for <@U…>, <@U…>`: the name is text, the requesters after it are IDs.
 */
type Part = 'text' | 'ids' | 'keyFor';

interface Wording {
  /** The sentence after the actor. `{target}` and `{detail}` place those parts; a target without a
   * place follows the words, a detail without one ends the line in parentheses. */
  words: string | ((entry: AuditEntry) => string);
  target?: Part;
  detail?: Part;
}

/** Every action the domain records. An action missing here shows as its code. */
export const ACTIVITY: Readonly<Record<string, Wording>> = {
  'organization.created': { words: 'created the organization' },
  'organization.channel_set': { words: 'set the approvals channel to {target}', target: 'ids' },
  'organization.setting_changed': { words: 'set the organization setting {target} to {detail}' },
  'organization.oncall_group_set': { words: 'set the on-call group to {target}' },
  'organization.oncall_group_cleared': { words: 'cleared the on-call group' },
  'owner.added': { words: 'made {target} an owner', target: 'ids' },
  'owner.removed': { words: 'removed {target} from the owners', target: 'ids' },
  'project.created': { words: 'created the project {target}' },
  'project.renamed': { words: 'renamed the project to {target}' },
  'project.deleted': { words: 'deleted the project {target}' },
  'project.settings_changed': { words: 'changed the settings' },
  'role.granted': { words: 'gave {target} the {detail} role', target: 'ids' },
  'role.revoked': { words: 'removed the role of {target}', target: 'ids' },
  'key.added': { words: 'added the key {target}' },
  'key.removed': { words: 'removed the key {target}' },
  'key.disabled': { words: 'disabled the key {target}' },
  'key.enabled': { words: 'enabled the key {target}' },
  'key.requested': { words: 'asked to add the key {target}' },
  'key.request_joined': { words: 'joined the request for the key {target}' },
  'key.request_approval': { words: 'gave one approval to a key request:', detail: 'ids' },
  'key.request_approved': { words: 'approved a key request:', target: 'keyFor', detail: 'ids' },
  'key.request_denied': { words: 'denied a key request:', target: 'keyFor' },
  'key.request_withdrawn': { words: 'closed a key request:', target: 'keyFor' },
  'key.request_expired': { words: 'closed an expired key request:' },
  'key.breakglass_added': { words: 'added the break-glass key {target}' },
  'key.breakglass_kept': { words: 'reviewed and kept the break-glass key {target}', target: 'keyFor' },
  'key.breakglass_revoked': { words: 'revoked the break-glass key {target}', target: 'keyFor' },
  'key.breakglass_unreviewed': {
    words: 'marked the break-glass key {target} unreviewed: it expired before anyone reviewed it',
    target: 'keyFor',
  },
  'key.request_cancelled': { words: 'cancelled their key request {target}' },
  'key.request_left': { words: 'left the key request {target}' },
  'key.extension_requested': { words: 'asked for more time on the key {target}' },
  'key.extension_approved': { words: 'approved more time on a key:', target: 'keyFor', detail: 'ids' },
  'key.extended': { words: 'extended the key {target}' },
  'key.done': { words: 'was done with the key {target} and removed it' },
  'resource.added': { words: 'added the {target}' },
  'resource.removed': { words: 'removed the {target}' },
  'token.created': { words: 'created the delivery token {target}' },
  'token.revoked': {
    words: (entry) =>
      entry.target?.includes(', ')
        ? 'revoked the delivery tokens {target}'
        : 'revoked the delivery token {target}',
  },
  'instance.registered': { words: 'registered the instance {target}' },
  'instance.moved': { words: 'moved the instance {target}' },
};

const SLACK_ID = /<([@#])([A-Z0-9]+)>/g;

/** Text composed around Slack IDs: the IDs become mentions, everything else is escaped once. */
function withMentions(text: string): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(SLACK_ID)) {
    const [token, sigil, id] = match as unknown as [string, string, string];
    out += escapeText(text.slice(last, match.index));
    out += sigil === '@' ? user(id) : /^[CG][A-Z0-9]+$/.test(id) ? `<#${id}>` : escapeText(token);
    last = match.index + token.length;
  }
  return out + escapeText(text.slice(last));
}

const REQUESTERS = /^([\s\S]*) for (<@[UW][A-Z0-9]+>(?:, <@[UW][A-Z0-9]+>)*)$/;

function renderPart(text: string, part: Part): string {
  if (part === 'ids') return withMentions(text);
  if (part === 'keyFor') {
    const match = REQUESTERS.exec(text);
    if (match) return `${escapeText(match[1] ?? '')} for ${withMentions(match[2] ?? '')}`;
  }
  return escapeText(text);
}

/** What a record says, in words: `<@U1> created the project web in *web*`. */
export function activityLine(entry: AuditEntry, withProject = true): string {
  const where = withProject && entry.projectName ? ` in *${escapeText(entry.projectName)}*` : '';
  const actor = entry.actor === 'keyhouse' ? 'Keyhouse' : user(entry.actor);
  const wording = ACTIVITY[entry.action];
  const target = entry.target ? renderPart(entry.target, wording?.target ?? 'text') : '';
  const detail = entry.detail ? renderPart(entry.detail, wording?.detail ?? 'text') : '';
  if (!wording) {
    // A kind of record this version does not know: its code, and its outcome when it has one.
    const outcome = entry.outcome === 'done' ? '' : ` — ${entry.outcome}`;
    return `${when(entry.at)} ${actor} ${escapeText(entry.action)}${target ? ` ${target}` : ''}${where}${detail ? ` _(${detail})_` : ''}${outcome}`;
  }
  const words = typeof wording.words === 'function' ? wording.words(entry) : wording.words;
  // One pass, so a part that happens to read `{detail}` stays as typed.
  let sentence = words.replace(/\{(target|detail)\}/g, (_, part) => (part === 'target' ? target : detail));
  if (!words.includes('{target}') && target) sentence += ` ${target}`;
  sentence = sentence.trimEnd();
  const trailing = !words.includes('{detail}') && detail ? ` _(${detail})_` : '';
  return `${when(entry.at)} ${actor} ${sentence}${where}${trailing}`;
}
