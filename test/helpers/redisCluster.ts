import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './env';
import { answers, freePort } from './redisServer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One redis-cli call against 127.0.0.1:`port`; its output, trimmed ('' when it cannot connect). */
export function redisCli(port: number, ...args: string[]): string {
  const run = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  return (run.stdout ?? '').trim();
}

/** A redis-server process of a test's own, started with `args`, that can be killed and started again. */
class ServerProcess {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly args: () => string[],
  ) {}

  async start(): Promise<void> {
    this.child = spawn('redis-server', this.args(), { stdio: 'ignore' });
    for (let i = 0; i < 100; i += 1) {
      if (await answers(this.port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** SIGKILL: no goodbye to clients or to the cluster. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/**
 * A real Redis Cluster of three masters (no replicas) on free ports, each in its own process with its
 * data in a directory of the test's own. Every write is appended and synced before Redis answers it
 * (appendfsync always), so a master killed with SIGKILL and started again still holds every write it
 * acknowledged. `cluster-require-full-coverage no`: while one master is down, the slots of the others
 * keep answering.
 */
export class RedisClusterProcesses {
  readonly masters: (ServerProcess & { port: number })[] = [];
  private readonly dir = tempDir();

  /** The REDIS_CLUSTER_NODES setting that names every master. */
  get nodes(): string {
    return this.masters.map((m) => `127.0.0.1:${m.port}`).join(',');
  }

  /** Replicas added with `addReplica`. */
  readonly replicas: (ServerProcess & { port: number })[] = [];

  /** A cluster node on a free port, started. */
  private async node(): Promise<ServerProcess & { port: number }> {
    const port = await freePort();
    const node = new ServerProcess(port, () => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
      '--cluster-require-full-coverage',
      'no',
      '--dir',
      this.dir,
      '--dbfilename',
      `dump-${port}.rdb`,
      '--appendonly',
      'yes',
      '--appendfilename',
      `appendonly-${port}.aof`,
      '--appenddirname',
      `aof-${port}`,
      '--appendfsync',
      'always',
      '--save',
      '',
    ]);
    await node.start();
    return node;
  }

  async start(count = 3): Promise<void> {
    for (let i = 0; i < count; i += 1) this.masters.push(await this.node());
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...this.masters.map((m) => `127.0.0.1:${m.port}`)].concat([
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]),
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await this.settled();
  }

  /** Waits until every master that runs sees the cluster as whole (state ok, every slot assigned). */
  async settled(timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const infos = this.masters.map((m) => redisCli(m.port, 'cluster', 'info'));
      if (infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info))) return;
      if (Date.now() > until) throw new Error(`the cluster did not settle: ${infos.join(' | ')}`);
      await sleep(100);
    }
  }

  /** The slot Redis gives `key` (hash tags included). */
  slotOf(key: string): number {
    return Number(redisCli(this.masters[0]!.port, 'cluster', 'keyslot', key));
  }

  /** The master that serves `slot` now. */
  masterOf(slot: number): ServerProcess & { port: number } {
    for (const master of this.masters) {
      const line = redisCli(master.port, 'cluster', 'nodes')
        .split('\n')
        .find((l) => l.includes('myself'));
      const ranges = (line ?? '').split(' ').slice(8);
      for (const range of ranges) {
        const [from, to] = range.split('-').map(Number);
        if (from !== undefined && slot >= from && slot <= (to ?? from)) return master;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /**
   * Adds a replica of `master` and waits until it follows it: if the master dies, the cluster promotes it
   * after the node timeout (2 s).
   */
  async addReplica(master: ServerProcess & { port: number }): Promise<ServerProcess & { port: number }> {
    const replica = await this.node();
    this.replicas.push(replica);
    const id = redisCli(master.port, 'cluster', 'myid');
    const add = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'add-node',
        `127.0.0.1:${replica.port}`,
        `127.0.0.1:${master.port}`,
        '--cluster-slave',
      ].concat(['--cluster-master-id', id]),
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (add.status !== 0) throw new Error(`redis-cli --cluster add-node failed: ${add.stdout}${add.stderr}`);
    for (let i = 0; ; i += 1) {
      if (/master_link_status:up/.test(redisCli(replica.port, 'info', 'replication'))) break;
      if (i > 200) throw new Error('the replica did not follow its master');
      await sleep(100);
    }
    await this.settled();
    return replica;
  }

  /** Whether the node on `port` is a master now. */
  isMaster(port: number): boolean {
    return /role:master/.test(redisCli(port, 'info', 'replication'));
  }

  async stop(): Promise<void> {
    for (const node of [...this.masters, ...this.replicas]) await node.kill();
  }
}

/**
 * A Redis master, two replicas of it and one Sentinel watching them (quorum 1), each in its own process:
 * `failover()` asks the Sentinel to promote a replica, as an operator or a failed master would. With two
 * replicas, the new master has a replica again as soon as the failover re-points the other one.
 */
export class RedisSentinelProcesses {
  readonly name = 'keyhouse-test';
  master!: ServerProcess;
  replicas: ServerProcess[] = [];
  sentinel!: ServerProcess;
  private readonly dir = tempDir();

  /** The REDIS_SENTINELS setting. */
  get sentinels(): string {
    return `127.0.0.1:${this.sentinel.port}`;
  }

  async start(): Promise<void> {
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    const replicaPorts = [await freePort(), await freePort()];
    // Each in the test's directory (a replica's full sync writes an RDB file there), nothing saved.
    const data = (port: number) => [
      '--dir',
      this.dir,
      '--dbfilename',
      `dump-${port}.rdb`,
      '--repl-diskless-sync-delay',
      '0',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    this.master = new ServerProcess(masterPort, () => data(masterPort));
    this.replicas = replicaPorts.map(
      (port) =>
        new ServerProcess(port, () => [...data(port), '--replicaof', '127.0.0.1', String(masterPort)]),
    );
    // Sentinel rewrites its configuration file, so it gets one of its own.
    const config = join(this.dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${this.name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${this.name} 2000`,
        `sentinel failover-timeout ${this.name} 10000`,
        '',
      ].join('\n'),
    );
    this.sentinel = new ServerProcess(sentinelPort, () => [config, '--sentinel']);
    await this.master.start();
    for (const replica of this.replicas) await replica.start();
    await this.sentinel.start();
    // The Sentinel must know the replicas, in sync, before it can promote one.
    for (let i = 0; ; i += 1) {
      const known = redisCli(sentinelPort, 'sentinel', 'replicas', this.name);
      // Sentinel sees each replica connected and following the master (flags slave, link ok).
      const ready = replicaPorts.every((port) =>
        new RegExp(`port\\n${port}\\n(?:.*\\n)*?flags\\nslave\\n(?:.*\\n)*?master-link-status\\nok`).test(
          known,
        ),
      );
      if (ready) break;
      if (i > 200) throw new Error(`the Sentinel did not find the replicas: ${known}`);
      await sleep(100);
    }
  }

  /** The port of the master the Sentinel names now. */
  currentMaster(): number {
    return Number(
      redisCli(this.sentinel.port, 'sentinel', 'get-master-addr-by-name', this.name).split('\n')[1],
    );
  }

  /** Promotes the replica and waits until it answers as master. */
  async failover(): Promise<void> {
    const before = this.currentMaster();
    const answer = redisCli(this.sentinel.port, 'sentinel', 'failover', this.name);
    if (answer !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${answer}`);
    for (let i = 0; i < 300; i += 1) {
      const now = this.currentMaster();
      if (now !== before && /role:master/.test(redisCli(now, 'info', 'replication'))) return;
      await sleep(100);
    }
    throw new Error('the failover did not finish');
  }

  async stop(): Promise<void> {
    await this.sentinel.kill();
    for (const replica of this.replicas) await replica.kill();
    await this.master.kill();
  }
}
