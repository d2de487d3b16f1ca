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
def _sort_order(user, at, ident):  # pragma: no cover - compiled
    """Permutation that orders events by (user, at, ident)."""
    order = np.argsort(user, kind="mergesort")
    n = order.shape[0]
    start = 0
    while start < n:
        end = start + 1
        while end < n and user[order[end]] == user[order[start]]:
            end += 1
        if end - start > 1:
            segment = order[start:end]
            by_time = segment[np.argsort(at[segment], kind="mergesort")]
            # equal times are rare and short: insertion sort them by id
            for i in range(1, by_time.shape[0]):
                item = by_time[i]
                j = i - 1
                while j >= 0 and at[by_time[j]] == at[item] and ident[by_time[j]] > ident[item]:
                    by_time[j + 1] = by_time[j]
                    j -= 1
                by_time[j + 1] = item
            order[start:end] = by_time
        start = end
    return order


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
def _deplete(user, ident, at, amount, expires, capacity):  # pragma: no cover - compiled
    """Allocate debits to lots for events sorted by (user, at, ident).

    Returns the pieces as parallel arrays (source event index of the user,
    debit id, lot id, kind, amount, time) and their count, or count -1 when
    `capacity` was too small.
    """
    n = user.shape[0]
    out_event = np.empty(capacity, np.int64)
    out_debit = np.empty(capacity, np.int64)
    out_lot = np.empty(capacity, np.int64)
    out_kind = np.empty(capacity, np.int8)
    out_amount = np.empty(capacity, np.int64)
    out_at = np.empty(capacity, np.int64)
    remaining = np.zeros(n, np.int64)  # per lot (by event index)
    heap = np.empty(n, np.int64)  # open lots, soonest expiry on top
    debt_event = np.empty(n, np.int64)  # debits owing, oldest first
    debt_left = np.empty(n, np.int64)
    count = 0
    start = 0
    while start < n:
        end = start
        while end < n and user[end] == user[start]:
            end += 1
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
                    if count == capacity:
                        return out_event, out_debit, out_lot, out_kind, out_amount, out_at, -1
                    out_event[count] = i
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
                    if count == capacity:
                        return out_event, out_debit, out_lot, out_kind, out_amount, out_at, -1
                    out_event[count] = i
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
        # debt no later lot repaid is unfunded, at the debit's time
        for q in range(debt_head, debt_tail):
            if count == capacity:
                return out_event, out_debit, out_lot, out_kind, out_amount, out_at, -1
            out_event[count] = debt_event[q]
            out_debit[count] = ident[debt_event[q]]
            out_lot[count] = NO_LOT
            out_kind[count] = UNFUNDED
            out_amount[count] = debt_left[q]
            out_at[count] = at[debt_event[q]]
            count += 1
        start = end
    return out_event, out_debit, out_lot, out_kind, out_amount, out_at, count


@njit(cache=True, nogil=True)
def _group_by_row(row_of_piece, n_rows):  # pragma: no cover - compiled
    """Stable counting sort of pieces by their input row; returns (order, offsets)."""
    offsets = np.zeros(n_rows + 1, np.int64)
    for r in row_of_piece:
        offsets[r + 1] += 1
    for r in range(n_rows):
        offsets[r + 1] += offsets[r]
    cursor = offsets[:-1].copy()
    order = np.empty(row_of_piece.shape[0], np.int64)
    for k in range(row_of_piece.shape[0]):
        r = row_of_piece[k]
        order[cursor[r]] = k
        cursor[r] += 1
    return order, offsets


def deplete(
    user: np.ndarray,
    ident: np.ndarray,
    at: np.ndarray,
    amount: np.ndarray,
    expires: np.ndarray,
) -> dict[str, np.ndarray]:
    """FIFO pieces for events in any order (expires: NEVER = never expires).

    Returns parallel arrays keyed by PIECE_FIELDS plus `event_index`, the
    index (into the inputs) of the event that produced each piece.
    """
    order = _sort_order(user, at, ident)
    s_user, s_ident, s_at = user[order], ident[order], at[order]
    s_amount, s_expires = amount[order], expires[order]
    capacity = int(user.shape[0] * 1.25) + 1024
    while True:
        *pieces, count = _deplete(s_user, s_ident, s_at, s_amount, s_expires, capacity)
        if count >= 0:
            break
        capacity *= 2
    event, debit, lot, kind, piece_amount, piece_at = (p[:count] for p in pieces)
    return {
        "event_index": order[event],
        "user_id": s_user[event],
        "debit_id": debit,
        "lot_id": lot,
        "kind": kind,
        "amount_milli": piece_amount,
        "allocated_us": piece_at,
    }


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
    """Vectorised DuckDB UDF: list<struct(EVENT_FIELDS)> per row in, list of
    pieces per row out. All events of a user must be in the same row."""
    if isinstance(events, pa.ChunkedArray):
        events = events.combine_chunks()
    n_rows = len(events)
    offsets = events.offsets.to_numpy()
    lengths = np.diff(offsets)
    flat = events.flatten()
    columns = {
        name: np.ascontiguousarray(flat.field(name).to_numpy(zero_copy_only=False), np.int64)
        for name in EVENT_FIELDS
    }
    row_of_event = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
    pieces = deplete(
        columns["user_id"],
        columns["credit_history_id"],
        columns["occurred_us"],
        columns["amount_milli"],
        columns["expires_us"],
    )
    order, out_offsets = _group_by_row(row_of_event[pieces["event_index"]], n_rows)
    children = [
        pa.array(pieces[name][order], type=PIECE_TYPE.field(name).type)
        for name in PIECE_FIELDS
    ]
    structs = pa.StructArray.from_arrays(children, fields=list(PIECE_TYPE))
    return pa.ListArray.from_arrays(pa.array(out_offsets, pa.int32()), structs)
