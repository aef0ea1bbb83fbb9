import type { App } from '@slack/bolt';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import type { Actor } from '../../domain/model';
import { CALLBACK, FIELD } from '../ids';
import { escapeText } from '../render/format';
import { decodeMetadata, renderKeyAddedModal, renderKeyRequestedModal } from '../render/modals';
import { deliverRequest } from './approvals';
import { deliverBreakGlass } from './breakGlass';
import { renderBreakGlassAddedModal } from '../render/breakGlass';
import { fieldErrors, inputValue, notify } from './common';

/** Form submissions: validate through the domain, answer field errors in place, or close and confirm. */
export function registerViews(app: App, listeners: Listeners, domain: Domain): void {
  listeners.view(CALLBACK.deleteProject, async ({ ack, view, body, logger }) => {
    const metadata = decodeMetadata(view.private_metadata);
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    try {
      const project = await domain.projects.delete(
        actor,
        metadata?.projectId ?? '',
        inputValue(view, FIELD.confirmation),
      );
      await ack();
      await notify(app, actor.userId, metadata?.channelId, {
        text: `Deleted project ${project.name}.`,
      }).catch(() => undefined);
    } catch (error) {
      await ack({
        response_action: 'errors',
        errors: fieldErrors(error, [FIELD.confirmation], FIELD.confirmation, logger),
      });
    }
  });

  listeners.view(CALLBACK.createProject, async ({ ack, view, body, logger }) => {
    const metadata = decodeMetadata(view.private_metadata);
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    try {
      const project = await domain.projects.create(
        actor,
        inputValue(view, FIELD.name),
        inputValue(view, FIELD.description),
      );
      await ack();
      await notify(app, actor.userId, metadata?.channelId, {
        text: `:white_check_mark: Created project *${escapeText(project.name)}* (\`${project.id}\`). You are its admin.`,
      }).catch(() => undefined);
    } catch (error) {
      await ack({
        response_action: 'errors',
        errors: fieldErrors(error, [FIELD.name, FIELD.description], FIELD.name, logger),
      });
    }
  });

  listeners.view(CALLBACK.addKey, async ({ ack, view, body, client, logger }) => {
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    const optional = (field: string) => inputValue(view, field).trim() || undefined;
    // Once the form is answered, what follows (cards, messages) may fail but never answers it again.
    let answered = false;
    try {
      const expires = optional(FIELD.expires);
      const name = optional(FIELD.name);
      const reason = optional(FIELD.reason);
      const projectId = inputValue(view, FIELD.project);
      const input = {
        publicKey: inputValue(view, FIELD.publicKey),
        ...(name ? { name } : {}),
        ...(expires ? { expires } : {}),
        ...(reason ? { reason } : {}),
      };
      if (inputValue(view, FIELD.keyKind) === 'breakglass') {
        const added = await domain.breakGlass.add(actor, projectId, input);
        answered = true;
        await ack({ response_action: 'update', view: renderBreakGlassAddedModal(added) });
        const message = await deliverBreakGlass(client, domain, actor, added, logger);
        await notify(app, actor.userId, decodeMetadata(view.private_metadata)?.channelId, message).catch(
          () => undefined,
        );
        return;
      }
      const outcome = await domain.keys.add(actor, projectId, input);
      answered = true;
      if (outcome.kind === 'added') {
        await ack({ response_action: 'update', view: renderKeyAddedModal(outcome.key, outcome.project) });
        return;
      }
      await ack({ response_action: 'update', view: renderKeyRequestedModal(outcome.request) });
      const message = await deliverRequest(client, domain, actor, outcome.request, outcome.joined);
      await notify(app, actor.userId, decodeMetadata(view.private_metadata)?.channelId, message).catch(
        () => undefined,
      );
    } catch (error) {
      if (answered) {
        logger.warn(
          `telling about an added key failed: ${error instanceof Error ? error.message : 'unknown error'}`,
        );
        return;
      }
      const fields: string[] = [FIELD.publicKey, FIELD.name, FIELD.expires, FIELD.reason, FIELD.project];
      // The break-glass choice is in the form only where the organization has an on-call group.
      if (view.state.values[FIELD.keyKind]) fields.push(FIELD.keyKind);
      await ack({ response_action: 'errors', errors: fieldErrors(error, fields, FIELD.project, logger) });
    }
  });

  listeners.view(CALLBACK.projectSettings, async ({ ack, view, body, logger }) => {
    const metadata = decodeMetadata(view.private_metadata);
    const actor: Actor = { teamId: body.team?.id ?? view.team_id, userId: body.user.id };
    try {
      const project = await domain.projects.updateSettings(actor, metadata?.projectId ?? '', {
        description: inputValue(view, FIELD.description),
        approvalsChannel: inputValue(view, FIELD.approvalsChannel) || null,
        approvalsRequired: Number(inputValue(view, FIELD.approvalsRequired) || '1'),
        ...(inputValue(view, FIELD.offlineLogins)
          ? { offlineLogins: inputValue(view, FIELD.offlineLogins) }
          : {}),
        // A form opened before these settings existed has none of them: they stay as they are.
        ...(inputValue(view, FIELD.breakGlass) ? { breakGlass: inputValue(view, FIELD.breakGlass) } : {}),
        ...(inputValue(view, FIELD.breakGlassMax)
          ? { breakGlassMax: inputValue(view, FIELD.breakGlassMax) }
          : {}),
        ...(inputValue(view, FIELD.maxKeyLifetime)
          ? { maxKeyLifetime: inputValue(view, FIELD.maxKeyLifetime) }
          : {}),
      });
      await ack();
      await notify(app, actor.userId, metadata?.channelId, {
        text: `Saved the settings of *${escapeText(project.name)}*.`,
      }).catch(() => undefined);
    } catch (error) {
      const fields = [
        FIELD.description,
        FIELD.approvalsChannel,
        FIELD.approvalsRequired,
        FIELD.offlineLogins,
        FIELD.breakGlass,
        FIELD.breakGlassMax,
        FIELD.maxKeyLifetime,
      ];
      await ack({ response_action: 'errors', errors: fieldErrors(error, fields, FIELD.description, logger) });
    }
  });
}
