import type { WebClient } from '@slack/web-api';
import type { Domain } from '../domain';
import type { KeyRequest } from '../domain/model';
import { escapeText, when } from './render/format';
import { expireRequests } from './listeners/approvals';

/** Work done on a timer by every replica; each item is handled once however many replicas run it. */
export interface SweepResult {
  expiredRequests: KeyRequest[];
  keyNotices: number;
}

/** Tells key owners, by direct message, that a key expires within the hour, then that it expired. */
async function notifyKeyExpiry(client: WebClient, domain: Domain, now?: Date): Promise<number> {
  const notices = await domain.delivery.expiryNotices(now);
  await Promise.allSettled(
    notices.map((notice) => {
      const key = `*${escapeText(notice.keyName)}* in *${escapeText(notice.projectName)}*`;
      const text =
        notice.kind === 'soon'
          ? `:hourglass_flowing_sand: Your SSH key ${key} expires ${when(notice.expiresAt)}. After that instances no longer accept it; add a new one with \`/sshkey add\` if you still need access.`
          : `:hourglass: Your SSH key ${key} expired ${when(notice.expiresAt)} and is no longer delivered to instances.`;
      return client.chat.postMessage({ channel: notice.owner, text });
    }),
  );
  return notices.length;
}

export async function runSweeps(client: WebClient, domain: Domain, now?: Date): Promise<SweepResult> {
  const expiredRequests = await expireRequests(client, domain, now);
  const keyNotices = await notifyKeyExpiry(client, domain, now);
  return { expiredRequests, keyNotices };
}
