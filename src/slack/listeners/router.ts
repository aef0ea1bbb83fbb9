import type {
  AnyMiddlewareArgs,
  App,
  Middleware,
  OptionsSource,
  SlackAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackOptionsMiddlewareArgs,
  SlackViewAction,
  SlackViewMiddlewareArgs,
} from '@slack/bolt';

type Listener = Middleware<AnyMiddlewareArgs>;

/** Listeners by ID; an ID has one listener, and a second is a mistake. */
class ById {
  private readonly exact = new Map<string, Listener>();
  private readonly prefixes: [string, Listener][] = [];

  constructor(private readonly kind: string) {}

  get size(): number {
    return this.exact.size + this.prefixes.length;
  }

  add(id: string | { prefix: string }, listener: unknown): void {
    const key = typeof id === 'string' ? id : `${id.prefix}_`;
    if (this.exact.has(key) || this.prefixes.some(([prefix]) => prefix === key)) {
      throw new Error(`a second ${this.kind} listener for ${key}`);
    }
    if (typeof id === 'string') this.exact.set(key, listener as Listener);
    else this.prefixes.push([key, listener as Listener]);
  }

  /** Runs the listener of `id`; none: the request is not answered, as Bolt leaves one no listener takes. */
  run(id: string | undefined, args: AnyMiddlewareArgs): Promise<void> {
    if (id === undefined) return Promise.resolve();
    const listener = this.exact.get(id) ?? this.prefixes.find(([prefix]) => id.startsWith(prefix))?.[1];
    return listener ? listener(args as Parameters<Listener>[0]) : Promise.resolve();
  }
}

/**
 * Keyhouse's Slack listeners by command name, action ID, callback ID or event type, handed to Bolt as one
 * listener per kind of request. Bolt runs every request through the middleware of every listener it
 * holds, each asking whether the request is its own: with two dozen listeners that was a measurable
 * share of each request's time. Here one lookup finds the listener.
 */
export class Listeners {
  private readonly commands = new ById('command');
  private readonly actions = new ById('action');
  private readonly views = new ById('view');
  private readonly suggestions = new ById('options');
  private readonly events = new Map<string, Listener>();

  command(name: string, listener: Middleware<SlackCommandMiddlewareArgs>): void {
    this.commands.add(name, listener);
  }

  /**
   * A block action, by its action ID, or every action ID that starts with `prefix` and `_` (a button whose
   * ID carries a tab or a page: ids.ts's ACTION_PREFIXES).
   */
  action<A extends SlackAction = SlackAction>(
    actionId: string | { prefix: string },
    listener: Middleware<SlackActionMiddlewareArgs<A>>,
  ): void {
    this.actions.add(actionId, listener);
  }

  /** A view submission, by its callback ID. */
  view<V extends SlackViewAction = SlackViewAction>(
    callbackId: string,
    listener: Middleware<SlackViewMiddlewareArgs<V>>,
  ): void {
    this.views.add(callbackId, listener);
  }

  /** The options of an external select, by its action ID. */
  options<S extends OptionsSource = 'block_suggestion'>(
    actionId: string,
    listener: Middleware<SlackOptionsMiddlewareArgs<S>>,
  ): void {
    this.suggestions.add(actionId, listener);
  }

  /** Events are few, and Bolt finds them by type: each is a Bolt listener of its own. */
  event<E extends string>(type: E, listener: Middleware<SlackEventMiddlewareArgs<E>>): void {
    if (this.events.has(type)) throw new Error(`a second event listener for ${type}`);
    this.events.set(type, listener as unknown as Listener);
  }

  /** Registers with Bolt one listener for each kind of request that has listeners here. */
  attach(app: App): void {
    const { commands, actions, views, suggestions } = this;
    if (commands.size > 0) app.command(/.*/, (args) => commands.run(args.command.command, args));
    if (actions.size > 0) {
      app.action({ type: 'block_actions' }, (args) => actions.run(args.action.action_id, args));
    }
    if (views.size > 0) {
      app.view({ type: 'view_submission' }, (args) => views.run(args.view.callback_id, args));
    }
    if (suggestions.size > 0) {
      app.options({ type: 'block_suggestion' }, (args) => suggestions.run(args.body.action_id, args));
    }
    for (const [type, listener] of this.events) {
      app.event(type, listener as unknown as Middleware<SlackEventMiddlewareArgs>);
    }
  }
}
