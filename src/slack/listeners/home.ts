import type { WebClient } from '@slack/web-api';
import type { Domain } from '../../domain';
import type { Listeners } from './router';
import type { Actor } from '../../domain/model';
import type { HomeTab } from '../ids';
import { isDomainError } from '../../domain/errors';
import type { AuditView } from '../../domain/organizations';
import { type HomeContent, renderHome } from '../render/home';

/** Loads what a Home tab shows. Each tab reads a fixed number of documents. */
export async function homeContent(
  domain: Domain,
  actor: Actor,
  tab: HomeTab | { projectId: string },
  publicUrl: string,
  page = 1,
): Promise<HomeContent> {
  const now = domain.workspaces.now();
  if (typeof tab === 'object') {
    return { tab: 'project', view: await domain.projects.show(actor, tab.projectId), now, publicUrl };
  }
  switch (tab) {
    case 'overview': {
      const overview = await domain.organizations.overview(actor);
      // The organization's audit log is for owners, as with `/org audit`.
      if (!overview.owners.includes(actor.userId)) return { tab, overview };
      const audit = await auditPage(domain, actor, page);
      return { tab, overview, activity: audit.entries, auditPage: audit };
    }
    case 'projects':
      return { tab, projects: (await domain.projects.list(actor)).projects, page };
    case 'keys':
      return { tab, keys: await domain.keys.mine(actor), now, page };
    case 'approvals': {
      // The projects the person manages are read once, for both lists.
      const managed = await domain.workspaces.manageableProjects(actor);
      const [requests, breakGlass] = await Promise.all([
        domain.approvals.decidableBy(actor, managed),
        domain.breakGlass.reviewableBy(actor, managed),
      ]);
      return { tab, requests, breakGlass, page };
    }
    case 'settings':
      return { tab, overview: await domain.organizations.overview(actor) };
  }
}

export async function publishHome(
  client: WebClient,
  domain: Domain,
  actor: Actor,
  tab: HomeTab | { projectId: string },
  publicUrl: string,
  page = 1,
): Promise<void> {
  await client.views.publish({
    user_id: actor.userId,
    view: renderHome(await homeContent(domain, actor, tab, publicUrl, page)),
  });
}

/** A page of the organization's audit log; a page that no longer exists shows the newest instead. */
async function auditPage(domain: Domain, actor: Actor, page: number): Promise<AuditView> {
  try {
    return await domain.organizations.audit(actor, undefined, { page });
  } catch (error) {
    if (page === 1 || !isDomainError(error) || error.code !== 'invalid_input') throw error;
    return domain.organizations.audit(actor);
  }
}

export function registerHome(listeners: Listeners, domain: Domain, publicUrl: string): void {
  listeners.event('app_home_opened', async ({ event, body, client, logger }) => {
    if (event.tab !== 'home') return;
    const actor: Actor = { teamId: body.team_id, userId: event.user };
    try {
      await publishHome(client, domain, actor, 'overview', publicUrl);
    } catch (error) {
      logger.error(`could not publish App Home: ${error instanceof Error ? error.message : 'unknown error'}`);
    }
  });
}
