{#
    FIFO lot depletion per engine (int_credit_allocations): the pieces of
    the events in `events` (a relation or CTE with credit_history_id,
    user_id, amount_milli, occurred_at, expires_at), as a select with
    debit_id, lot_id (null for unfunded), user_id, piece_kind (0
    consumption, 1 debt_repayment, 2 unfunded), amount_milli (bigint) and
    allocated_us (microseconds since the epoch, UTC). Every engine gives
    exactly the pieces of the DuckDB kernel (credit_ledger/fifo.py, whose
    docstring states the rules), and works per user, so the work partitions
    by user.
#}
{% macro fifo_pieces(events) -%}
    {{ return(adapter.dispatch('fifo_pieces', 'credit_ledger')(events)) }}
{%- endmacro %}

{% macro default__fifo_pieces(events) -%}
    {{ not_supported_on_adapter('fifo_pieces') }}
{%- endmacro %}

{# DuckDB: users are hashed into buckets; each bucket is one call of the
   compiled kernel fifo_allocate() with all of its users' rows. #}
{% macro duckdb__fifo_pieces(events) -%}
    with user_buckets as (
        select
            hash(user_id) % {{ var('fifo_user_buckets') }} as bucket,
            list(
                struct_pack(
                    user_id := user_id,
                    credit_history_id := credit_history_id,
                    occurred_us := epoch_us(occurred_at),
                    amount_milli := amount_milli,
                    -- never expires: the largest BIGINT sorts after every date
                    expires_us := coalesce(epoch_us(expires_at), 9223372036854775807)
                )
            ) as events
        from {{ events }}
        group by 1
    ),

    bucket_pieces as (
        select unnest(fifo_allocate(events)) as piece
        from user_buckets
    )

    select
        piece.debit_id,
        case when piece.kind != 2 then piece.lot_id end as lot_id,
        piece.user_id,
        piece.kind as piece_kind,
        piece.amount_milli,
        piece.allocated_us
    from bucket_pieces
{%- endmacro %}

{# PostgreSQL: one call of the PL/pgSQL function credit_ledger_fifo_user
   (created at run start) per user, with the user's events as one array in
   ledger order. #}
{% macro postgres__fifo_pieces(events) -%}
    select
        pieces.debit_id,
        pieces.lot_id,
        user_events.user_id,
        pieces.piece_kind,
        pieces.amount_milli,
        pieces.allocated_us
    from (
        select
            user_id,
            array_agg(
                row(
                    credit_history_id,
                    {{ epoch_microseconds('occurred_at') }},
                    amount_milli,
                    -- never expires: the largest BIGINT sorts after every date
                    coalesce({{ epoch_microseconds('expires_at') }}, 9223372036854775807)
                )::{{ engine_function('credit_ledger_fifo_event') }}
                order by occurred_at, credit_history_id
            ) as events
        from {{ events }}
        group by user_id
    ) as user_events
    cross join lateral {{ engine_function('credit_ledger_fifo_user') }}(
        user_events.events
    ) as pieces
{%- endmacro %}

{# The PL/pgSQL side: the kernel's walk for one user's events (sorted by
   occurred_at, credit_history_id). Open lots are a binary heap by
   (expires_us, grant order); debts a queue, oldest first. Every array is
   allocated once at the user's size and updated in place, and the events
   are read with FOREACH, so the time is linear in the user's events (times
   log of the open lots), never quadratic. #}
{% macro postgres__create_fifo_function() -%}
    do $block$
    begin
        if to_regtype('{{ target.schema }}.credit_ledger_fifo_event') is null then
            create type {{ engine_function('credit_ledger_fifo_event') }} as (
                credit_history_id bigint,
                occurred_us bigint,
                amount_milli bigint,
                expires_us bigint
            );
        end if;
    end
    $block$;

    create or replace function {{ engine_function('credit_ledger_fifo_user') }}(
        events {{ engine_function('credit_ledger_fifo_event') }}[]
    )
    returns table (
        debit_id bigint,
        lot_id bigint,
        piece_kind integer,
        amount_milli bigint,
        allocated_us bigint
    )
    language plpgsql immutable strict parallel safe
    as $function$
    declare
        n integer := coalesce(cardinality(events), 0);
        event {{ engine_function('credit_ledger_fifo_event') }};
        t bigint;
        need bigint;
        available bigint;
        take bigint;
        -- open lots, numbered in grant order (the tie-break after expiry)
        lot_ids bigint[] := array_fill(0::bigint, array[n]);
        lot_expires bigint[] := array_fill(0::bigint, array[n]);
        lot_left bigint[] := array_fill(0::bigint, array[n]);
        lot_count integer := 0;
        heap integer[] := array_fill(0, array[n]);
        heap_size integer := 0;
        -- debts, oldest first: debt_head .. debt_tail
        debt_ids bigint[] := array_fill(0::bigint, array[n]);
        debt_at bigint[] := array_fill(0::bigint, array[n]);
        debt_left bigint[] := array_fill(0::bigint, array[n]);
        debt_head integer := 1;
        debt_tail integer := 0;
        lot integer;
        pos integer;
        child integer;
        parent integer;
        item integer;
    begin
        foreach event in array events loop
            t := event.occurred_us;
            if event.amount_milli < 0 then
                need := -event.amount_milli;
                loop
                    exit when heap_size = 0;
                    lot := heap[1];
                    if lot_expires[lot] > t then
                        exit when need = 0;
                        -- consume the soonest-expiring open lot
                        take := least(need, lot_left[lot]);
                        debit_id := event.credit_history_id;
                        lot_id := lot_ids[lot];
                        piece_kind := 0;
                        amount_milli := take;
                        allocated_us := t;
                        return next;
                        lot_left[lot] := lot_left[lot] - take;
                        need := need - take;
                        exit when lot_left[lot] > 0;
                    end if;
                    -- the top lot expired by t or is used up: pop it
                    item := heap[heap_size];
                    heap_size := heap_size - 1;
                    if heap_size > 0 then
                        pos := 1;
                        loop
                            child := 2 * pos;
                            exit when child > heap_size;
                            if child < heap_size and (
                                lot_expires[heap[child + 1]] < lot_expires[heap[child]]
                                or (lot_expires[heap[child + 1]] = lot_expires[heap[child]]
                                    and heap[child + 1] < heap[child])
                            ) then
                                child := child + 1;
                            end if;
                            exit when lot_expires[item] < lot_expires[heap[child]]
                                or (lot_expires[item] = lot_expires[heap[child]]
                                    and item < heap[child]);
                            heap[pos] := heap[child];
                            pos := child;
                        end loop;
                        heap[pos] := item;
                    end if;
                end loop;
                -- what no lot covers is debt owed by this debit
                if need > 0 then
                    debt_tail := debt_tail + 1;
                    debt_ids[debt_tail] := event.credit_history_id;
                    debt_at[debt_tail] := t;
                    debt_left[debt_tail] := need;
                end if;
            elsif event.amount_milli > 0 and event.expires_us > t then
                -- a grant (one that expired on arrival does nothing):
                -- repay debt, oldest debit first, then open the rest
                available := event.amount_milli;
                while available > 0 and debt_head <= debt_tail loop
                    take := least(available, debt_left[debt_head]);
                    debit_id := debt_ids[debt_head];
                    lot_id := event.credit_history_id;
                    piece_kind := 1;
                    amount_milli := take;
                    allocated_us := t;
                    return next;
                    available := available - take;
                    debt_left[debt_head] := debt_left[debt_head] - take;
                    if debt_left[debt_head] = 0 then
                        debt_head := debt_head + 1;
                    end if;
                end loop;
                if available > 0 then
                    lot_count := lot_count + 1;
                    lot_ids[lot_count] := event.credit_history_id;
                    lot_expires[lot_count] := event.expires_us;
                    lot_left[lot_count] := available;
                    -- push: sift up
                    heap_size := heap_size + 1;
                    pos := heap_size;
                    loop
                        exit when pos = 1;
                        parent := pos / 2;
                        exit when lot_expires[heap[parent]] < event.expires_us
                            or lot_expires[heap[parent]] = event.expires_us;
                        heap[pos] := heap[parent];
                        pos := parent;
                    end loop;
                    heap[pos] := lot_count;
                end if;
            end if;
        end loop;
        -- debt no later lot repaid is unfunded, at the debit's time
        for q in debt_head .. debt_tail loop
            debit_id := debt_ids[q];
            lot_id := null;
            piece_kind := 2;
            amount_milli := debt_left[q];
            allocated_us := debt_at[q];
            return next;
        end loop;
    end
    $function$;
{%- endmacro %}
