import type { View } from '@slack/types';
import type { Domain } from '../../domain';
import type { Actor, KeyRequest } from '../../domain/model';
import type { BreakGlassAdded } from '../../domain/breakGlass';
import type { Message } from '../render/messages';

export interface CommandInput {
  actor: Actor;
  /** The raw command text, as Slack sent it. */
  text: string;
  channelId: string;
  /** The workspace's name (its Slack domain), which is the organization's name. */
  teamName?: string;
  /** Where instances reach Keyhouse, for recipes. */
  publicUrl: string;
}

export type CommandOutcome =
  /** Only the caller sees it. */
  | { kind: 'reply'; message: Message }
  /** Posted in the channel for everyone. */
  | { kind: 'broadcast'; message: Message }
  | { kind: 'modal'; view: View }
  /** A key request was made (or joined): its cards go to the approvers. */
  | { kind: 'requested'; request: KeyRequest; joined: boolean }
  /** A break-glass key was added: its card goes to the approvers. */
  | { kind: 'breakglass'; added: BreakGlassAdded };

export type CommandHandler = (domain: Domain, input: CommandInput) => Promise<CommandOutcome>;

export const reply = (message: Message): CommandOutcome => ({ kind: 'reply', message });
export const broadcast = (message: Message): CommandOutcome => ({ kind: 'broadcast', message });
export const modal = (view: View): CommandOutcome => ({ kind: 'modal', view });
