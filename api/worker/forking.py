"""Forking a hosted session: the env's siblings (`envs.fork`) hosted under the ids the API chose."""

from __future__ import annotations

from swefarm.api.contract.errors import ConflictError, TooManyRequestsError
from swefarm.api.worker.host import HostedSession, Worker


def fork_session(worker: Worker, session_id: str, child_ids: list[str]) -> list[str]:
    """Host n siblings of `session_id`'s episode as `child_ids`, each recorded active with its step count."""
    from swefarm.envs.fork import fork_wrapped

    session = worker._take(session_id)
    try:
        with worker._lock:
            taken = [i for i in child_ids if i in worker.sessions]
            if taken:
                raise ConflictError(f"sessions {', '.join(taken)} are already open")
            if len(worker.sessions) + len(child_ids) > worker.settings.worker_sessions:
                raise TooManyRequestsError(
                    f"worker {worker.id} holds {len(worker.sessions)} sessions of at most "
                    f"{worker.settings.worker_sessions}: a fork of {len(child_ids)} does not fit"
                )
        if getattr(session.env.unwrapped, "_ended", True):
            raise ConflictError(f"session {session_id}'s episode has ended; only an active episode can be forked")
        envs = fork_wrapped(session.env, len(child_ids))
    finally:
        session.lock.release()
    hosted = []
    for child_id, env in zip(child_ids, envs, strict=True):
        child = HostedSession(child_id, env, session.idle_timeout_s)
        child.steps, child.episodes = session.steps, session.episodes
        hosted.append(child)
    with worker._lock:
        worker.sessions.update({child.id: child for child in hosted})
    for child in hosted:
        worker._record(child.id, status="active", steps=child.steps, episodes=child.episodes, reward=None)
    return child_ids
