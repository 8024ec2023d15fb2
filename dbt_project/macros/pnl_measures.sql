{#- The P&L measures, defined once for every grain (shop × day, shop × product × day).
    Input: a relation with the *_fen components of int_pnl_components__product_daily.
      net_revenue         = GMV + platform/creator-funded subsidies (paid back in settlement) - refunds
      contribution_margin = net_revenue - platform fees - commissions - 招商服务费 - ad spend
                            - freight - COGS (net of returns) -#}
{% macro pnl_measures() -%}
    {%- set margin = 'gmv_fen + subsidy_fen - refund_fen - platform_fee_fen - commission_fen - colonel_fee_fen'
                     ~ ' - ad_spend_fen - freight_fen - cogs_sold_fen + cogs_returned_fen' -%}
        {{ fen_to_yuan('gmv_fen') }}                                        as gmv_yuan,
        {{ fen_to_yuan('subsidy_fen') }}                                    as subsidy_yuan,
        {{ fen_to_yuan('refund_fen') }}                                     as refund_yuan,
        {{ fen_to_yuan('gmv_fen + subsidy_fen - refund_fen') }}             as net_revenue_yuan,
        {{ fen_to_yuan('platform_fee_fen') }}                               as platform_fee_yuan,
        {{ fen_to_yuan('commission_fen') }}                                 as commission_yuan,
        {{ fen_to_yuan('colonel_fee_fen') }}                                as colonel_fee_yuan,
        {{ fen_to_yuan('ad_spend_fen') }}                                   as ad_spend_yuan,
        {{ fen_to_yuan('freight_fen') }}                                    as freight_yuan,
        {{ fen_to_yuan('cogs_sold_fen - cogs_returned_fen') }}              as cogs_yuan,
        {{ fen_to_yuan(margin) }}                                           as contribution_margin_yuan,
        cast({{ margin }} as {{ dbt.type_bigint() }})                       as contribution_margin_fen
{%- endmacro %}
