"""A straightforward haircut taint model in Python, as a researcher would write it with pandas.

Same semantics as moneytrail's haircut (docs/adr/0003-taint-semantics.md) on a plain input:
transfers.csv with columns block,tx_index,sub,from,to,amount (amount in base units; `to` empty
for a fee), seeds.txt and terminals.txt (one address a line). Exact integers (Python ints).

    python3 haircut.py DIR        # prints seconds and the totals per category
"""
import sys
import time

import pandas as pd


def main(d):
    seeds = set(open(f"{d}/seeds.txt").read().split())
    terminals = set(open(f"{d}/terminals.txt").read().split())
    t0 = time.perf_counter()
    df = pd.read_csv(f"{d}/transfers.csv", dtype={"from": str, "to": str, "amount": str},
                     keep_default_na=False)
    df = df.sort_values(["block", "tx_index", "sub"], kind="stable")
    bal, taint = {}, {}
    injected = 0
    totals = {"exchange": 0, "fee": 0, "unspent": 0}
    for row in df.itertuples(index=False):
        src, dst, v = getattr(row, "_3"), row.to, int(row.amount)
        if v == 0 or src == dst:
            continue
        # sender
        if src in terminals:
            moved = 0
        else:
            b, t = bal.get(src, 0), taint.get(src, 0)
            if v > b:  # unexplained value: tainted at a seed, clean elsewhere
                extra = v - b
                b += extra
                if src in seeds:
                    t += extra
                    injected += extra
            moved = t if v == b else t * v // b
            bal[src], taint[src] = b - v, t - moved
        # receiver
        if dst == "":
            totals["fee"] += moved
        elif dst in seeds and src not in seeds:
            injected += v - moved
            bal[dst] = bal.get(dst, 0) + v
            taint[dst] = taint.get(dst, 0) + v
        elif dst in terminals:
            totals["exchange"] += moved
        else:
            bal[dst] = bal.get(dst, 0) + v
            taint[dst] = taint.get(dst, 0) + moved
    totals["unspent"] = sum(t for a, t in taint.items() if a not in terminals)
    secs = time.perf_counter() - t0
    print(f"python_seconds {secs:.3f}")
    print(f"injected {injected}")
    for k in sorted(totals):
        print(f"{k} {totals[k]}")


if __name__ == "__main__":
    main(sys.argv[1])
