{#
    The churn risk rule (vars churn_*): one rule, used for today's figure
    (fct_user_credit_health) and for every past month in the backtest
    (fct_churn_signal_backtest), so what is shown is what was tested.
      high    no usage for churn_high_idle_days, or the last 30 days' usage
              is at most churn_high_usage_ratio of the 30 days before;
      medium  the same with the medium thresholds;
      low     otherwise (also a user with no ledger row yet).
    Usage is credits consumed by usage debits (fct_burn_rate_daily).
#}
{% macro churn_risk(idle_days, usage_30d_milli, usage_prior_30d_milli) -%}
    case
        when
            {{ idle_days }} >= {{ var('churn_high_idle_days') }}
            or (
                {{ usage_prior_30d_milli }} > 0
                and {{ usage_30d_milli }}
                <= {{ var('churn_high_usage_ratio') }} * {{ usage_prior_30d_milli }}
            )
            then 'high'
        when
            {{ idle_days }} >= {{ var('churn_medium_idle_days') }}
            or (
                {{ usage_prior_30d_milli }} > 0
                and {{ usage_30d_milli }}
                <= {{ var('churn_medium_usage_ratio') }} * {{ usage_prior_30d_milli }}
            )
            then 'medium'
        else 'low'
    end
{%- endmacro %}
