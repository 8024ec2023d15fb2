"""Every behaviour rate of the simulated world, in one place (a frozen dataclass).

Rates are probabilities per eligible unit (order, line, settled line, …). Anomaly rates are small
(≈0.5–2 %) and chosen so a 10-day × 200-orders/day world shows every anomaly kind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Behaviour:
    # -- orders --------------------------------------------------------------------------------
    pay_rate: float = 0.93  # created orders that get paid (the rest stay unpaid / are cancelled)
    pay_timeout_s: int = 1800  # payment window: a buyer pays within it; an unpaid order is cancelled when it closes
    extra_line_rate: float = 0.28  # chance of one more SKU line (geometric, ≤ 4 lines)
    channel_weights: tuple[float, ...] = (0.22, 0.26, 0.16, 0.16, 0.20)  # alliance, live, video, search, card
    shop_promo_rate: float = 0.40
    platform_promo_rate: float = 0.20
    talent_promo_rate: float = 0.30  # of creator-attributed lines (alliance, creators' rooms)
    post_amount_rate: float = 0.12  # orders with a buyer-paid shipping fee
    # -- order-lifecycle quirks of a real shop (each on by default; off reproduces the simple world) ----
    pay_after_midnight: bool = True  # payment is not capped at the end of the creation day (create day ≠ pay day)
    unpaid_expire: bool = True  # unpaid orders are cancelled when the payment window closes (else they stay 待支付)
    presale_rate: float = 0.03  # paid orders that are full-payment presale (预售): promised ship time days/weeks later
    presale_days: tuple[int, int] = (5, 25)  # promised ship time of a presale order, days after payment
    # -- fulfilment ---------------------------------------------------------------------------
    sla_miss_rate: float = 0.015  # paid orders shipped 48–72 h after payment
    # -- after-sales (per paid line, mutually exclusive) ------------------------------------
    refund_before_ship_rate: float = 0.03  # type 2
    return_refund_rate: float = 0.05  # type 0
    refund_after_ship_rate: float = 0.02  # type 1
    exchange_rate: float = 0.01  # type 3
    price_protect_rate: float = 0.015  # type 6 (partial refund 10–30 %)
    resend_rate: float = 0.008  # type 7
    aftersale_success_rate: float = 0.85
    # -- after-sales quirks (each on by default) ------------------------------------------------
    partial_unit_refund_rate: float = 0.5  # returns / refunds (types 0, 1) of a multi-unit line refunding k of n units
    return_insurance_claim_rate: float = 0.6  # successful returns (type 0) whose return freight 运费险 pays the buyer
    late_reversal_days: tuple[float, float] = (1.0, 5.0)  # reversal of a refund after settlement, days after the refund
    platform_compensation_rate: float = 0.2  # refunds after shipping (types 0, 1) the platform compensates the shop for
    # -- settlement / finance ---------------------------------------------------------------
    colonel_rate: float = 0.30  # alliance lines with a 招商 (colonel) service fee
    shipping_insurance_rate: float = 0.20  # settled lines with a shipping-insurance deduction
    withdraw_every_days: int = 7
    # -- injected anomalies (recorded in truth/anomalies.csv) -------------------------------
    late_update_rate: float = 0.015  # orders touched again 2–6 days after their last event
    refund_after_settlement_rate: float = 0.015  # settled lines refunded later, reversal row written
    refund_not_reversed_rate: float = 0.01  # settled lines refunded later, reversal row missing
    missing_settlement_rate: float = 0.015  # overdue lines with no settlement at all
    fee_mismatch_rate: float = 0.015  # settlement with a wrong platform service fee
    duplicate_settlement_rate: float = 0.01  # settlement row written twice (two request_no)
    duplicate_fund_flow_rate: float = 0.015  # fund-flow row repeated in the file drop
    # -- catalogue dynamics ------------------------------------------------------------------
    price_change_rate: float = 0.02  # SKUs whose price changes on a given day
    cost_change_rate: float = 0.01  # SKUs whose unit cost changes on a given day
    new_creator_rate: float = 0.12  # per shop per day: a new creator joins
    # -- platform quirks (issue 15 B; each ON by default, 0 / False switches it off) --------------
    split_shipment_rate: float = 0.03  # lines shipped from a second warehouse on their own waybill
    rebalance_rate: float = 0.10  # orders shipped from a warehouse other than the nearest
    lost_parcel_rate: float = 0.25  # share of single-line refund-only (type 1) waybills lost in transit
    rejected_delivery_rate: float = 0.25  # … and of the rest refused at the door (拒收), returned to stock
    fee_rate_change_bp: int = 100  # one category's platform fee rate changes by this from ¾ of the world
    commission_campaign_rate: float = 0.3  # creators whose commission rate changes during a campaign
    adjustment_rate: float = 0.01  # settled lines adjusted later in the fund flow (调账, ±)
    deposit_events: bool = True  # 保证金 top-up, penalty deductions (违规扣款) and a refund in the fund flow
    live_cross_midnight_rate: float = 0.35  # evening live sessions that run past midnight
    ad_restatement_rate: float = 0.4  # Qianchuan day reports restated (re-delivered) the next day
    stock_count_diff_rate: float = 0.004  # SKU × warehouse × day: the 3PL count differs from the ledger
    # -- natural discrepancies (legitimate; the reconciliation must not flag them) --------------
    late_settlement_rate: float = 0.04  # settled 1..grace days after the due day (late, not overdue)
    fee_rounding_rate: float = 0.01  # platform fee 1 fen off the contract's rounding (within tolerance)
    # -- output ------------------------------------------------------------------------------
    write_exports: bool = True  # 订单导出 / 售后导出 noise files (not landed by the pipeline)

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT = Behaviour()
