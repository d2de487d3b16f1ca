"""FIFO lot depletion: the sequential part of int_credit_allocations.

The rules (the project's README and DECISIONLOG say why):

* rows are processed per user in (occurred_at, credit_history_id) order;
* a row with amount > 0 opens a lot, unless it expires on arrival
  (expires_at <= occurred_at); a new lot first repays the user's debt,
  oldest debit first, and only the rest is open for later debits;
* a row with amount < 0 is a debit: it first drops every open lot with
  expires_at <= its time, then consumes open lots in order of
  (expires_at, never-expiring last, granted_at, lot_id); what no lot covers
  becomes debt owed by that debit;
* debt still owed at the end is reported as `unfunded`.

Everything is in integers: times in microseconds since the epoch, amounts in
milli-credits, "never expires" as NEVER. The kernel is compiled with numba
(cache on disk: set NUMBA_CACHE_DIR to a writable folder).

`allocate_lists` is registered in DuckDB as the scalar function
`fifo_allocate` (see duckdb_plugin.py): it takes one list of events per row
(a bucket of whole users) and returns one list of allocation pieces per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

NEVER = np.iinfo(np.int64).max
NO_LOT = -1

CONSUMPTION = 0
DEBT_REPAYMENT = 1
UNFUNDED = 2
KIND_NAMES = ("consumption", "debt_repayment", "unfunded")

EVENT_FIELDS = ("user_id", "credit_history_id", "occurred_us", "amount_milli", "expires_us")
PIECE_FIELDS = ("user_id", "debit_id", "lot_id", "kind", "amount_milli", "allocated_us")


@njit(cache=True, nogil=True)
def _order_by_user(user, start, end, order):  # pragma: no cover - compiled
    """Fill order[start:end] with a stable permutation of start..end-1 that
    groups equal users (a counting sort when the ids are dense)."""
    n = end - start
    if n == 0:
        return
    low = user[start:end].min()
    high = user[start:end].max()
    # compare in floating point: high - low may overflow int64
    if float(high) - float(low) > 4.0 * n + 1024.0:
        order[start:end] = start + np.argsort(user[start:end], kind="mergesort")
        return
    span = high - low + 1
    slots = np.zeros(span + 1, np.int64)
    for k in range(start, end):
        slots[user[k] - low + 1] += 1
    for u in range(span):
        slots[u + 1] += slots[u]
    for k in range(start, end):
        slot = user[k] - low
        order[start + slots[slot]] = k
        slots[slot] += 1


@njit(cache=True, nogil=True)
def _sort_order(segments, user, at, ident):  # pragma: no cover - compiled
    """Permutation ordering each segment [segments[r], segments[r+1]) by
    (user, at, ident). Segments are the input lists; a user never spans two,
    so each user's rows end up together, in ledger order, inside its segment."""
    order = np.empty(user.shape[0], np.int64)
    for r in range(segments.shape[0] - 1):
        _order_by_user(user, segments[r], segments[r + 1], order)
    n = order.shape[0]
    start = 0
    while start < n:
        end = start + 1
        in_order = True
        while end < n and user[order[end]] == user[order[start]]:
            a, b = order[end - 1], order[end]
            if at[a] > at[b] or (at[a] == at[b] and ident[a] > ident[b]):
                in_order = False
            end += 1
        # rows usually arrive in ledger order; sort the user's run if not
        if not in_order:
            run = order[start:end]
            run = run[np.argsort(at[run], kind="mergesort")]
            # equal times are rare and short: insertion sort them by id
            for k in range(1, run.shape[0]):
                item = run[k]
                m = k - 1
                while m >= 0 and at[run[m]] == at[item] and ident[run[m]] > ident[item]:
                    run[m + 1] = run[m]
                    m -= 1
                run[m + 1] = item
            order[start:end] = run
        start = end
    return order


@njit(cache=True, nogil=True)
def _gather(order, a, b, c, d, e):  # pragma: no cover - compiled
    """The five event columns permuted by `order`, in one pass."""
    n = order.shape[0]
    oa, ob, oc = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    od, oe = np.empty(n, np.int64), np.empty(n, np.int64)
    for k in range(n):
        j = order[k]
        oa[k], ob[k], oc[k], od[k], oe[k] = a[j], b[j], c[j], d[j], e[j]
    return oa, ob, oc, od, oe


@njit(cache=True, nogil=True)
def _heap_less(a, b, expires):  # pragma: no cover - compiled
    # lots are event indexes in sorted order, so index order is
    # (granted_at, lot_id) order: the tie-break after expires_at
    return expires[a] < expires[b] or (expires[a] == expires[b] and a < b)


@njit(cache=True, nogil=True)
def _heap_push(heap, size, item, expires):  # pragma: no cover - compiled
    i = size
    heap[i] = item
    while i > 0:
        parent = (i - 1) // 2
        if _heap_less(heap[i], heap[parent], expires):
            heap[i], heap[parent] = heap[parent], heap[i]
            i = parent
        else:
            break
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(heap, size, expires):  # pragma: no cover - compiled
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and _heap_less(heap[left + 1], heap[left], expires):
            child = left + 1
        if _heap_less(heap[child], heap[i], expires):
            heap[i], heap[child] = heap[child], heap[i]
            i = child
        else:
            break
    return size


@njit(cache=True, nogil=True)
def _deplete(segments, user, ident, at, amount, expires, capacity):  # pragma: no cover
    """Allocate debits to lots for events sorted by (user, at, ident) inside
    each segment.

    Returns the pieces as parallel arrays (user, debit id, lot id, kind,
    amount, time), the offsets of each segment's pieces, and the piece count;
    the count is -1 when `capacity` was too small.
    """
    n = user.shape[0]
    out_user = np.empty(capacity, np.int64)
    out_debit = np.empty(capacity, np.int64)
    out_lot = np.empty(capacity, np.int64)
    out_kind = np.empty(capacity, np.int8)
    out_amount = np.empty(capacity, np.int64)
    out_at = np.empty(capacity, np.int64)
    out_offsets = np.zeros(segments.shape[0], np.int64)
    remaining = np.zeros(n, np.int64)  # per lot (by event index)
    heap = np.empty(n, np.int64)  # open lots, soonest expiry on top
    debt_event = np.empty(n, np.int64)  # debits owing, oldest first
    debt_left = np.empty(n, np.int64)
    count = 0
    for r in range(segments.shape[0] - 1):
        out_offsets[r] = count
        start = segments[r]
        while start < segments[r + 1]:
            # one user: rows start..end-1
            end = start
            while end < segments[r + 1] and user[end] == user[start]:
                end += 1
            if count + 2 * (end - start) > capacity:
                return out_user, out_debit, out_lot, out_kind, out_amount, out_at, out_offsets, -1
            heap_size = 0
            debt_head = 0
            debt_tail = 0
            for i in range(start, end):
                t = at[i]
                if amount[i] < 0:
                    need = -amount[i]
                    # 1. lots that expire at or before t are no longer usable
                    while heap_size > 0 and expires[heap[0]] <= t:
                        heap_size = _heap_pop(heap, heap_size, expires)
                    # 2. consume the soonest-expiring open lots
                    while need > 0 and heap_size > 0:
                        lot = heap[0]
                        take = min(need, remaining[lot])
                        out_user[count] = user[i]
                        out_debit[count] = ident[i]
                        out_lot[count] = ident[lot]
                        out_kind[count] = CONSUMPTION
                        out_amount[count] = take
                        out_at[count] = t
                        count += 1
                        remaining[lot] -= take
                        need -= take
                        if remaining[lot] == 0:
                            heap_size = _heap_pop(heap, heap_size, expires)
                    # 3. the rest is debt owed by this debit
                    if need > 0:
                        debt_event[debt_tail] = i
                        debt_left[debt_tail] = need
                        debt_tail += 1
                elif amount[i] > 0:
                    if expires[i] <= t:
                        continue  # expired on arrival: repays nothing, opens nothing
                    available = amount[i]
                    # 4. a new lot repays outstanding debt, oldest debit first
                    while available > 0 and debt_head < debt_tail:
                        pay = min(available, debt_left[debt_head])
                        out_user[count] = user[i]
                        out_debit[count] = ident[debt_event[debt_head]]
                        out_lot[count] = ident[i]
                        out_kind[count] = DEBT_REPAYMENT
                        out_amount[count] = pay
                        out_at[count] = t
                        count += 1
                        available -= pay
                        debt_left[debt_head] -= pay
                        if debt_left[debt_head] == 0:
                            debt_head += 1
                    if available > 0:
                        remaining[i] = available
                        heap_size = _heap_push(heap, heap_size, i, expires)
            # 5. debt no later lot repaid is unfunded, at the debit's time
            for q in range(debt_head, debt_tail):
                out_user[count] = user[start]
                out_debit[count] = ident[debt_event[q]]
                out_lot[count] = NO_LOT
                out_kind[count] = UNFUNDED
                out_amount[count] = debt_left[q]
                out_at[count] = at[debt_event[q]]
                count += 1
            start = end
    out_offsets[segments.shape[0] - 1] = count
    return out_user, out_debit, out_lot, out_kind, out_amount, out_at, out_offsets, count


def _deplete_segments(
    segments: np.ndarray,
    user: np.ndarray,
    ident: np.ndarray,
    at: np.ndarray,
    amount: np.ndarray,
    expires: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    order = _sort_order(segments, user, at, ident)
    sorted_columns = _gather(order, user, ident, at, amount, expires)
    # pieces per user <= 2 x its rows: each piece ends a debit's need, a
    # debt, or a lot's availability (see the capacity check in _deplete)
    capacity = int(user.shape[0] * 1.25) + 1024
    while True:
        *columns, offsets, count = _deplete(segments, *sorted_columns, capacity)
        if count >= 0:
            break
        capacity *= 2
    pieces = {name: column[:count] for name, column in zip(PIECE_FIELDS, columns)}
    return pieces, offsets


def deplete(
    user: np.ndarray,
    ident: np.ndarray,
    at: np.ndarray,
    amount: np.ndarray,
    expires: np.ndarray,
) -> dict[str, np.ndarray]:
    """FIFO pieces for events in any order (expires: NEVER = never expires),
    as parallel arrays keyed by PIECE_FIELDS."""
    segments = np.array([0, user.shape[0]], np.int64)
    pieces, _ = _deplete_segments(segments, user, ident, at, amount, expires)
    return pieces


PIECE_TYPE = pa.struct(
    [
        ("user_id", pa.int64()),
        ("debit_id", pa.int64()),
        ("lot_id", pa.int64()),
        ("kind", pa.int8()),
        ("amount_milli", pa.int64()),
        ("allocated_us", pa.int64()),
    ]
)


def allocate_lists(events: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Vectorised DuckDB function: a list<struct(EVENT_FIELDS)> per row in, the
    list of its pieces per row out. All rows of a user must be in one list."""
    if isinstance(events, pa.ChunkedArray):
        events = events.combine_chunks()
    offsets = events.offsets.to_numpy().astype(np.int64)
    flat = events.flatten()  # the elements of all lists, offsets rebased to 0
    segments = offsets - offsets[0]
    columns = [
        np.ascontiguousarray(flat.field(name).to_numpy(zero_copy_only=False), np.int64)
        for name in EVENT_FIELDS
    ]
    pieces, piece_offsets = _deplete_segments(segments, *columns)
    children = [
        pa.array(pieces[name], type=PIECE_TYPE.field(name).type) for name in PIECE_FIELDS
    ]
    structs = pa.StructArray.from_arrays(children, fields=list(PIECE_TYPE))
    return pa.ListArray.from_arrays(pa.array(piece_offsets, pa.int32()), structs)
