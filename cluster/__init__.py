"""Past one machine, swefarm runs on Ray: sandbox hosts as Ray actors, episodes placed on them.

Where it runs, apart from what runs: this package is a deployment. The envs, the policies, the
grader and the API's episode code are the same ones a single process uses; Ray only decides on
which node they run.

- `swefarm.cluster.connect`: join a cluster (`auto`, `local`, `HOST:PORT`); a cluster on one
  machine runs on 127.0.0.1 only.
- `swefarm.cluster.local.LocalCluster`: a head and N worker nodes on this machine (tests, bench).
- `swefarm.cluster.node`: a worker node joining a head on 127.0.0.1 (compose's `ray` profile).
- `swefarm.cluster.host.SandboxHost`: the Ray actor on each node that owns its Docker engine, its
  warm pools, its sessions and its images (`context.HostContext`: what episode code gets there).
- `swefarm.cluster.scheduler.Scheduler`: places episodes and sessions on hosts (image locality,
  spread, back-pressure from free slots; `hosts.choose_host`) and re-runs what a lost node was
  running; `sessions.RemoteSession`: an env held on one host between calls.
- `swefarm.cluster.images`: a task's images from one node to another through Ray's object store.
- `swefarm.cluster.remote_env.RayEnv`: `gymnasium.make("swe/...", backend="ray")`.
- `swefarm.cluster.rollout`: `swefarm run ... --ray ADDRESS`.
- `swefarm.cluster.api_farm`, `api_evaluations`, `api_episodes`: `swefarm serve --ray auto|ADDRESS`
  (REST sessions and evaluation jobs).
- `swefarm.bench.ray` (the `bench` package): `swefarm bench ray`.

Ray is an optional dependency: `pip install 'swefarm[ray]'`.
"""
