"""Concurrent appends share transactions, and one request's failure never fails another's."""

import threading

from broker.log.sql import _AppendJob, _GroupCommit


def job(n: int) -> _AppendJob:
    return _AppendJob(topic_id=n, topic_name=f"t{n}", events=[], producer_id=None, now_ms=0)


def test_requests_arriving_during_a_transaction_share_the_next_one():
    rounds = []
    first_running = threading.Event()
    release_first = threading.Event()

    def run(batch):
        rounds.append([j.topic_id for j in batch])
        if len(rounds) == 1:
            first_running.set()
            release_first.wait(5)
        return [[] for _ in batch]

    committer = _GroupCommit(run)
    leader = threading.Thread(target=committer.submit, args=(job(0),))
    leader.start()
    first_running.wait(5)
    followers = [threading.Thread(target=committer.submit, args=(job(n),)) for n in range(1, 6)]
    for follower in followers:
        follower.start()
    while len(committer._queue) < 5:  # all five are queued behind the running transaction
        threading.Event().wait(0.01)
    release_first.set()
    for thread in [leader, *followers]:
        thread.join(5)
    assert rounds[0] == [0]
    assert sorted(rounds[1]) == [1, 2, 3, 4, 5]
    assert len(rounds) == 2


def test_a_failing_job_is_isolated_and_the_others_succeed():
    def run(batch):
        if any(j.topic_id == 2 for j in batch):
            if len(batch) == 1:
                raise ValueError("bad job")
            raise RuntimeError("shared transaction failed")
        return [[f"ok-{j.topic_id}"] for j in batch]

    committer = _GroupCommit(run)
    jobs = [job(n) for n in range(4)]
    committer._busy = True  # queue them all, then let one caller lead the whole batch
    committer._queue.extend(jobs[1:])
    committer._busy = False
    result = committer.submit(jobs[0])
    assert result == ["ok-0"]
    assert [j.result for j in jobs[1:]] == [["ok-1"], None, ["ok-3"]]
    assert isinstance(jobs[2].error, ValueError)
    assert all(j.done.is_set() for j in jobs)
