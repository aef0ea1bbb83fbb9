import type { KnownBlock, PlainTextOption, View } from '@slack/types';
import type { KeyRequest, Project, ProjectSummary, SshKey } from '../../domain/model';
import { MAX_APPROVALS } from '../../domain/limits';
import { OFFLINE_LOGINS, offlineLoginsOf } from '../../domain/deliveryKeySet';
import {
  BREAK_GLASS_MAXIMA,
  BREAK_GLASS_SWITCH,
  breakGlassMaxOf,
  breakGlassOf,
  MAX_KEY_LIFETIMES,
  maxKeyLifetimeOf,
} from '../../domain/keyPolicy';
import { CALLBACK, FIELD } from '../ids';
import { clip, LIMITS } from './limits';
import { code, escapeText, section, user, when } from './format';

/** What a modal carries to its submission handler. */
export interface ModalMetadata {
  projectId: string;
  /** Where to confirm the outcome to the user. */
  channelId?: string;
}

export const encodeMetadata = (metadata: ModalMetadata): string =>
  clip(JSON.stringify(metadata), LIMITS.privateMetadata);

export function decodeMetadata(raw: string | undefined): ModalMetadata | undefined {
  try {
    const value = JSON.parse(raw ?? '') as Partial<ModalMetadata>;
    return typeof value.projectId === 'string' ? (value as ModalMetadata) : undefined;
  } catch {
    return undefined;
  }
}

const text = (value: string) => ({ type: 'plain_text' as const, text: value });

function modalShell(
  callbackId: string,
  title: string,
  submit: string | undefined,
  metadata: ModalMetadata,
  blocks: KnownBlock[],
): View {
  return {
    type: 'modal',
    callback_id: callbackId,
    title: text(clip(title, LIMITS.modalTitle)),
    ...(submit ? { submit: text(submit) } : {}),
    close: text(submit ? 'Cancel' : 'Close'),
    private_metadata: encodeMetadata(metadata),
    blocks: blocks.slice(0, LIMITS.viewBlocks),
  };
}

function textInput(
  field: string,
  label: string,
  options: {
    optional?: boolean;
    multiline?: boolean;
    maxLength?: number;
    hint?: string;
    placeholder?: string;
    initial?: string;
  } = {},
): KnownBlock {
  return {
    type: 'input',
    block_id: field,
    optional: options.optional ?? false,
    label: text(label),
    ...(options.hint ? { hint: text(options.hint) } : {}),
    element: {
      type: 'plain_text_input',
      action_id: field,
      multiline: options.multiline ?? false,
      ...(options.maxLength ? { max_length: options.maxLength } : {}),
      ...(options.placeholder ? { placeholder: text(options.placeholder) } : {}),
      ...(options.initial ? { initial_value: options.initial } : {}),
    },
  };
}

export function renderDeleteProjectModal(project: Project, channelId?: string): View {
  return modalShell(
    CALLBACK.deleteProject,
    'Delete project',
    'Delete',
    { projectId: project.id, ...(channelId ? { channelId } : {}) },
    [
      section(
        `:warning: This deletes project *${escapeText(project.name)}* (${code(project.id)}). It cannot be ` +
          "undone; its records stay in the organization's audit log.",
      ),
      textInput(FIELD.confirmation, 'Type the project name to confirm', {
        placeholder: clip(project.name, 150),
      }),
    ],
  );
}

export function renderCreateProjectModal(channelId?: string): View {
  return modalShell(
    CALLBACK.createProject,
    'Create project',
    'Create',
    { projectId: '', ...(channelId ? { channelId } : {}) },
    [
      textInput(FIELD.name, 'Name', {
        maxLength: 64,
        hint: 'Up to 64 letters, digits, spaces, ".", "_" or "-". Unique in the organization.',
      }),
      textInput(FIELD.description, 'Description', { optional: true, multiline: true, maxLength: 200 }),
    ],
  );
}

const projectOption = (p: ProjectSummary, breakGlassOnly = false): PlainTextOption => ({
  text: text(
    clip(
      `${p.name}${p.isDefault ? ' (default)' : ''}${breakGlassOnly ? ' (break-glass only)' : ''}`,
      LIMITS.optionText,
    ),
  ),
  value: p.id,
});

/**
 * The add-key form. Up to 100 projects fit a static select; beyond that the select asks the app for
 * options as the user types (external select, served by `app.options`).
 */
export function renderAddKeyModal(
  projects: ProjectSummary[],
  selected: ProjectSummary | undefined,
  channelId?: string,
  /** The organization has an on-call group: offer the break-glass choice. */
  breakGlass = false,
  /** Projects an on-call member may reach only by break-glass (they have no role there). */
  breakGlassOnly: ReadonlySet<string> = new Set(),
): View {
  const option = (p: ProjectSummary) => projectOption(p, breakGlassOnly.has(p.id));
  const initial = selected ? { initial_option: option(selected) } : {};
  const picker: KnownBlock = {
    type: 'input',
    block_id: FIELD.project,
    label: text('Project'),
    element:
      projects.length <= LIMITS.staticSelectOptions
        ? {
            type: 'static_select',
            action_id: FIELD.project,
            options: projects.map(option),
            ...initial,
          }
        : { type: 'external_select', action_id: FIELD.project, min_query_length: 0, ...initial },
  };
  return modalShell(
    CALLBACK.addKey,
    'Add SSH key',
    'Add key',
    { projectId: selected?.id ?? '', ...(channelId ? { channelId } : {}) },
    [
      picker,
      textInput(FIELD.publicKey, 'Public key', {
        multiline: true,
        hint: 'The contents of your .pub file, e.g. ~/.ssh/id_ed25519.pub. Never paste the private key.',
        placeholder: 'ssh-ed25519 AAAAC3Nza… you@laptop',
      }),
      textInput(FIELD.name, 'Name', {
        optional: true,
        maxLength: 64,
        hint: "Defaults to the key's comment.",
      }),
      textInput(FIELD.expires, 'Expires', {
        optional: true,
        maxLength: 10,
        hint: 'Hours (8h), days (3d) or a date (2026-12-31). Empty: never, unless the project limits key lifetime for non-admins (then its maximum).',
      }),
      textInput(FIELD.reason, 'Reason', { optional: true, multiline: true, maxLength: 300 }),
      ...(breakGlass || breakGlassOnly.size > 0
        ? [keyKindInput(projects.every((p) => breakGlassOnly.has(p.id)))]
        : []),
    ],
  );
}

/**
 * The add-key form's choice between an ordinary key and a break-glass key; only the latter for one who
 * may reach the form's projects only by break-glass.
 */
function keyKindInput(onlyBreakGlass = false): KnownBlock {
  const ordinary: PlainTextOption = { text: text('Add, or ask an admin'), value: 'ordinary' };
  const breakGlass: PlainTextOption = { text: text('Break-glass (on call, now)'), value: 'breakglass' };
  return {
    type: 'input',
    block_id: FIELD.keyKind,
    optional: true,
    label: text('Kind'),
    hint: text(
      "Break-glass: for members of the on-call group, on projects with break-glass on. The key is added at once for at most the project's break-glass max; a reason is required, and an approver reviews it afterwards.",
    ),
    element: {
      type: 'radio_buttons',
      action_id: FIELD.keyKind,
      options: onlyBreakGlass ? [breakGlass] : [ordinary, breakGlass],
      initial_option: onlyBreakGlass ? breakGlass : ordinary,
    },
  };
}

/**
 * Instead of the add-key form for one who can see no project (a project picker with no option is
 * refused by Slack): why, and who can give them a role. `canCreate`: anyone may create a project.
 */
export function renderNoProjectModal(owners: string[], canCreate: boolean): View {
  const whoCan = owners.length
    ? `Organization owners can give you a role: ${owners.map(user).join(', ')}.`
    : 'This organization has no owners yet: whoever runs Keyhouse sets them with `ORG_OWNERS`.';
  return modalShell(CALLBACK.addKey, 'Add SSH key', undefined, { projectId: '' }, [
    section(`You have no project to add a key to: you cannot see any project yet.\n${whoCan}`),
    ...(canCreate ? [section(`Or create a project of your own: ${code('/project create <name>')}`)] : []),
  ]);
}

/** Shown in place of the form once a key is added: the fingerprint to compare with `ssh-keygen -lf`. */
export function renderKeyAddedModal(key: SshKey, project: Project): View {
  return modalShell(CALLBACK.addKey, 'Key added', undefined, { projectId: project.id }, [
    section(`:white_check_mark: Added *${escapeText(key.name)}* to *${escapeText(project.name)}*.`),
    section(
      `*Fingerprint:* ${code(key.fingerprint)}\n*Type:* ${key.type} ${key.bits}` +
        (key.expiresAt ? `\n*Expires:* ${when(key.expiresAt)}` : ''),
    ),
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: 'Compare with `ssh-keygen -lf ~/.ssh/id_ed25519.pub` on your machine.' },
      ],
    },
  ]);
}

/** A required select of a few fixed values, its current value chosen. */
function selectInput(
  field: string,
  label: string,
  hint: string,
  values: readonly string[],
  current: string,
): KnownBlock {
  const option = (value: string): PlainTextOption => ({ text: text(value), value });
  return {
    type: 'input',
    block_id: field,
    label: text(label),
    hint: text(hint),
    element: {
      type: 'static_select',
      action_id: field,
      options: values.map(option),
      initial_option: option(current),
    },
  };
}

export function renderSettingsModal(project: Project, channelId?: string): View {
  const required = project.settings.approvalsRequired;
  const option = (n: number): PlainTextOption => ({ text: text(String(n)), value: String(n) });
  return modalShell(
    CALLBACK.projectSettings,
    'Project settings',
    'Save',
    { projectId: project.id, ...(channelId ? { channelId } : {}) },
    [
      section(`Settings of *${escapeText(project.name)}* (${code(project.id)})`),
      textInput(FIELD.description, 'Description', {
        optional: true,
        multiline: true,
        maxLength: 200,
        initial: project.description,
      }),
      {
        type: 'input',
        block_id: FIELD.approvalsChannel,
        optional: true,
        label: text('Approvals channel'),
        hint: text("Where key requests are posted. Empty: the organization's channel."),
        element: {
          type: 'conversations_select',
          action_id: FIELD.approvalsChannel,
          filter: { include: ['public', 'private'], exclude_bot_users: true },
          ...(project.settings.approvalsChannel
            ? { initial_conversation: project.settings.approvalsChannel }
            : {}),
        },
      },
      {
        type: 'input',
        block_id: FIELD.approvalsRequired,
        label: text('Approvals required'),
        hint: text('How many different admins must approve a key request.'),
        element: {
          type: 'static_select',
          action_id: FIELD.approvalsRequired,
          options: Array.from({ length: MAX_APPROVALS }, (_, i) => option(i + 1)),
          initial_option: option(required),
        },
      },
      {
        type: 'input',
        block_id: FIELD.offlineLogins,
        label: text('Offline logins'),
        hint: text(
          'How long instances may keep logging people in with the last key set they fetched when Keyhouse cannot be reached. strict: not at all.',
        ),
        element: {
          type: 'static_select',
          action_id: FIELD.offlineLogins,
          options: OFFLINE_LOGINS.map((o) => ({ text: text(o), value: o })),
          initial_option: { text: text(offlineLoginsOf(project)), value: offlineLoginsOf(project) },
        },
      },
      selectInput(
        FIELD.breakGlass,
        'Break-glass',
        'on: members of the on-call group may add a key at once, reviewed afterwards.',
        BREAK_GLASS_SWITCH,
        breakGlassOf(project),
      ),
      selectInput(
        FIELD.breakGlassMax,
        'Break-glass max',
        'The longest a break-glass key lasts.',
        BREAK_GLASS_MAXIMA,
        breakGlassMaxOf(project),
      ),
      selectInput(
        FIELD.maxKeyLifetime,
        'Max key lifetime',
        'Keys added by people who are not admins expire within it (none: no limit).',
        MAX_KEY_LIFETIMES,
        maxKeyLifetimeOf(project),
      ),
    ],
  );
}

/** Shown in place of the form when the key needs approval. */
export function renderKeyRequestedModal(request: KeyRequest): View {
  return modalShell(CALLBACK.addKey, 'Approval requested', undefined, { projectId: request.projectId }, [
    section(
      `:hourglass_flowing_sand: Adding *${escapeText(request.key.name)}* to *${escapeText(request.projectName)}* needs an admin's approval` +
        (request.required > 1 ? ` (${request.required} different admins)` : '') +
        '. You will get a message when it is decided.',
    ),
    section(
      `*Fingerprint:* ${code(request.key.fingerprint)}\n*Type:* ${request.key.type} ${request.key.bits}`,
    ),
  ]);
}
