#!/usr/bin/env python3
"""The shipped model's training curve across sessions (run folders do not outlive a session).

    scripts/curve-log.py HISTORY RUN_LOG OFFSET UNTIL OUT

HISTORY is the committed curve (www/models/<name>.log.csv: the trainer's CSV log, steps counted
over all segments, thinned to every 10th step and every step with a test figure). RUN_LOG is the
log.csv of this segment's run, whose steps start at 1 again; OFFSET is the step the weights it
started from had reached, UNTIL the run's last step that goes into the ship (its checkpoint's).
A run resumed after an earlier ship (`--resume`) keeps its own step count, so its log holds
rows that HISTORY already has: those up to HISTORY's last step are left out, and the run's row at
that step must agree with HISTORY's last row (the same run), or the script refuses. Writes OUT,
the whole curve for `trainer plot` (HISTORY's rows, then the run's rows up to UNTIL with step and
batches shifted by OFFSET), and rewrites HISTORY as OUT thinned. Refuses a run log that stops
short of UNTIL, or that overlaps HISTORY without being its continuation.
"""
import csv
import os
import sys

HEADER = ["step", "batches", "train_bpd", "grad_norm", "test_bpd", "elapsed_s"]
EVERY = 10


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != HEADER:
        sys.exit(f"curve-log: {path}: not a trainer log (header {rows[:1]})")
    return rows[1:]


def write(path, rows):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    history, run_log, offset, until, out = argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5]
    past = read(history)
    last = int(past[-1][0]) if past else 0
    run = [r for r in read(run_log) if int(r[0]) <= until]
    if not run or int(run[-1][0]) != until:
        sys.exit(f"curve-log: {run_log} does not reach step {until}")
    if offset < last:
        # a resumed run: its rows up to the history's last step are already in the history
        seen = [r for r in run if int(r[0]) + offset == last]
        if not past or not seen or seen[0][2:4] != past[-1][2:4] or until + offset <= last:
            sys.exit(f"curve-log: the history reaches step {last}, past the offset {offset}, and {run_log} "
                     f"is not its continuation (its step {last - offset} differs from the history's last row)")
        run = [r for r in run if int(r[0]) + offset > last]
    shifted = [[str(int(r[0]) + offset), str(int(r[1]) + offset)] + r[2:] for r in run]
    whole = past + shifted
    write(out, whole)
    write(history, [r for r in whole if int(r[0]) % EVERY == 0 or r[4] != ""])
    print(f"curve-log: {len(past)} rows to step {last}, then {len(shifted)} from step {shifted[0][0]} to {offset + until}")


if __name__ == "__main__":
    main(sys.argv)
