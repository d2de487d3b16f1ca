{#
    FIFO on Spark: fifo_allocate, a Hive GenericUDF in Java
    (credit_ledger/java/creditledger/FifoAllocate.java, the DuckDB kernel's
    walk), compiled by `python -m credit_ledger.spark_fifo` at set-up (make
    engines) and registered for the session at run start, so that plain
    `dbt build --target spark`, its tests and unit tests call it.
#}

{#- the jar: $CREDITS_SPARK_FIFO_JAR, else the path the build writes,
    relative to the directory dbt runs in (the project root) -#}
{% macro spark_fifo_jar() -%}
    {{ return(env_var('CREDITS_SPARK_FIFO_JAR', 'credit_ledger/java/build/credit-ledger-fifo.jar')) }}
{%- endmacro %}

{#- on-run-start; a temporary function lives as long as the session, so
    only tables (never views) may call it -#}
{% macro spark__create_engine_functions() -%}
    create or replace temporary function fifo_allocate
    as 'creditledger.FifoAllocate'
    using jar '{{ spark_fifo_jar() }}'
{%- endmacro %}

{#- as on DuckDB, users are hashed into var('fifo_user_buckets') buckets and
    each bucket is one call with all of its users' rows (the function sorts
    them by user, occurred_at, credit_history_id): Spark shuffles the rows
    by bucket, so whole users spread over the executors. One call per user
    measured the same (10^6 events: about 3 s either way on 1 or 2 local
    cores, measured with pyspark when this was chosen; DECISIONLOG 16);
    raise the var on a cluster with more cores than buckets. -#}
{% macro spark__fifo_pieces(events) -%}
    select
        pieces.debit_id,
        pieces.lot_id,
        pieces.user_id,
        pieces.piece_kind,
        pieces.amount_milli,
        pieces.allocated_us
    from (
        select inline(fifo_allocate(user_buckets.events))
        from (
            select
                pmod(hash(user_id), {{ var('fifo_user_buckets') }}) as bucket,
                collect_list(named_struct(
                    'user_id', user_id,
                    'credit_history_id', credit_history_id,
                    'occurred_us', unix_micros(occurred_at),
                    'amount_milli', amount_milli,
                    -- never expires: the largest BIGINT sorts after every date
                    'expires_us', coalesce(unix_micros(expires_at), 9223372036854775807)
                )) as events
            from {{ events }}
            group by 1
        ) as user_buckets
    ) as pieces
{%- endmacro %}
