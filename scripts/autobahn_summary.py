#!/usr/bin/env python3
"""Summarises an Autobahn report directory and fails unless no case FAILED.

Usage: autobahn_summary.py REPORT_DIR

Prints one line per case group (1.*, 2.*, ...) with the count of each behaviour, then the cases
that were not OK, and exits 1 if any case's behaviour (or close behaviour) is FAILED or UNIMPLEMENTED.
"""

import collections
import glob
import json
import os
import sys

ACCEPTED = {"OK", "NON-STRICT", "INFORMATIONAL"}


def main() -> int:
    reports = sys.argv[1]
    by_group = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    not_ok = []
    for path in sorted(glob.glob(os.path.join(reports, "*_case_*.json"))):
        with open(path) as file:
            case = json.load(file)
        behaviour = case["behavior"]
        if case.get("behaviorClose") not in ACCEPTED:
            behaviour = "FAILED"
        group = case["id"].split(".")[0]
        by_group[group][behaviour] += 1
        total[behaviour] += 1
        if behaviour != "OK":
            not_ok.append((case["id"], behaviour, case.get("behaviorClose")))
    if not total:
        print("no Autobahn reports found in", reports)
        return 1
    print(f"{'cases':<8}{'OK':>6}{'NON-STRICT':>12}{'INFORMATIONAL':>15}{'FAILED':>8}")
    for group in sorted(by_group, key=int):
        counts = by_group[group]
        failed = sum(n for b, n in counts.items() if b not in ACCEPTED)
        print(f"{group + '.*':<8}{counts['OK']:>6}{counts['NON-STRICT']:>12}{counts['INFORMATIONAL']:>15}{failed:>8}")
    failed = sum(n for b, n in total.items() if b not in ACCEPTED)
    print(f"{'all':<8}{total['OK']:>6}{total['NON-STRICT']:>12}{total['INFORMATIONAL']:>15}{failed:>8}")
    for case_id, behaviour, close in not_ok:
        print(f"  {case_id}: {behaviour} (close: {close})")
    print(f"{sum(total.values())} cases, {failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
