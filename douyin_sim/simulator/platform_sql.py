"""SQL that turns the generator's arrays into the Open API's rows (field names of docs/sources.md).

Registered tables: ``L`` (SKU lines of a creation day, with ``o_update``), ``O`` (shop orders),
``WL`` (warehouse/carrier/waybill per line), ``SB`` (settlement rows), ``FF`` (fund-flow rows),
``AL`` (alliance lines), and the catalogue ``CS`` (SKUs), ``CP`` (products), ``AU`` (authors), ``PV``
(provinces), ``CN`` (carrier names), ``WH`` (warehouse types). Every query has a ``dt`` DATE column
(the partition) and is ordered by the entity key.
"""

from __future__ import annotations

DT = "(DATE '1970-01-01' + CAST((({t}) + 28800) // 86400 AS INTEGER))"


def dt(col: str) -> str:
    return DT.format(t=col)


SHOP_ORDER = f"""
WITH ship AS (
  SELECT L.parent_id, WL.tracking_no, any_value(WL.carrier) AS carrier, max(L.ship) AS ship_time,
         list(L.line_id::VARCHAR ORDER BY L.line_id) AS ids
  FROM L JOIN WL ON WL.line_id = L.line_id WHERE L.ship > 0 GROUP BY ALL),
li AS (
  SELECT parent_id, to_json(list({{'tracking_no': tracking_no, 'company': carrier, 'company_name': coalesce(CN.name, carrier),
         'ship_time': ship_time, 'delivery_id': tracking_no,
         'product_info': list_transform(ids, lambda x: {{'sku_order_id': x}})}} ORDER BY tracking_no))::VARCHAR AS info
  FROM ship LEFT JOIN CN USING (carrier) GROUP BY parent_id)
SELECT O.order_id::VARCHAR AS order_id, O.shop_id::VARCHAR AS shop_id, O.status AS order_status,
       O.status AS main_status, O.create_t AS create_time, O.pay AS pay_time, O.update_t AS update_time,
       O.finish AS finish_time, O.ship AS ship_time, O.exp_ship AS exp_ship_time,
       CASE WHEN O.order_id % 160 < 16 THEN 11 ELSE 2 END AS b_type, 1 AS pay_type, 0 AS trade_type,
       O.order_amount, O.pay_amount, O.post_amount, O.promotion_amount, O.promotion_shop_amount,
       O.promotion_platform_amount, O.promotion_talent_amount, 0::BIGINT AS modify_amount,
       0::BIGINT AS post_insurance_amount, 0::BIGINT AS tax_amount,
       '1@#' || substr(md5(O.buyer::VARCHAR), 1, 24) AS doudian_open_id,
       '#' || substr(md5('tel' || O.buyer::VARCHAR), 1, 20) || '#' AS encrypt_post_tel,
       '#' || substr(md5('rcv' || O.buyer::VARCHAR), 1, 16) || '#' AS encrypt_post_receiver,
       substr('王李张刘陈杨黄赵', (O.buyer % 8 + 1)::INTEGER, 1) || '**' AS mask_post_receiver,
       '1' || (30 + O.buyer % 60)::VARCHAR || '****' || lpad((O.buyer % 10000)::VARCHAR, 4, '0') AS mask_post_tel,
       to_json({{'province': {{'id': PV.code, 'name': PV.name}}, 'city': {{'id': PV.code || '01', 'name': PV.city}},
                 'town': {{'id': PV.code || '0101', 'name': '某区'}}, 'street': {{'id': PV.code || '010101', 'name': '某街道'}},
                 'encrypt_detail': '#' || substr(md5('addr' || O.buyer::VARCHAR), 1, 24) || '#'}})::VARCHAR AS post_addr,
       coalesce(li.info, '[]') AS logistics_info,
       {dt("O.update_t")} AS dt
FROM O JOIN PV ON PV.idx = O.province LEFT JOIN li ON li.parent_id = O.order_id
ORDER BY O.order_id
"""

SKU_ORDER = f"""
SELECT L.line_id::VARCHAR AS order_id, L.parent_id::VARCHAR AS parent_order_id, L.shop_id::VARCHAR AS shop_id,
       CP.product_id::VARCHAR AS product_id, CP.name AS product_name, CS.sku_id::VARCHAR AS sku_id,
       CS.code AS out_sku_id, CS.code AS code,
       to_json([{{'name': '规格', 'value': CS.spec1}}, {{'name': '颜色', 'value': CS.spec2}}])::VARCHAR AS spec,
       L.item_num, L.origin AS origin_amount, L.origin AS sum_amount, L.pay_amount, 0::BIGINT AS post_amount,
       L.promo AS promotion_amount, L.p_shop AS promotion_shop_amount, L.p_plat AS promotion_platform_amount,
       L.p_tal AS promotion_talent_amount, CP.first_cid, CP.second_cid, L.status AS order_status,
       L.create_t AS create_time, L.pay AS pay_time, L.finish AS finish_time, L.o_update AS update_time,
       L.ship AS ship_time, L.exp_ship AS exp_ship_time, L.receipt AS logistics_receipt_time,
       L.confirm AS confirm_receipt_time,
       CASE WHEN L.author >= 0 THEN AU.author_id::VARCHAR ELSE '' END AS author_id,
       CASE WHEN L.author >= 0 THEN AU.name ELSE '' END AS author_name,
       CASE WHEN L.room > 0 THEN L.room::VARCHAR ELSE '' END AS room_id_str,
       CASE WHEN L.video > 0 THEN L.video::VARCHAR ELSE '' END AS video_id,
       CASE WHEN L.room > 0 THEN L.room::VARCHAR WHEN L.video > 0 THEN L.video::VARCHAR ELSE '' END AS content_id,
       CASE WHEN L.room > 0 THEN 1 ELSE 0 END AS theme_type,
       CASE WHEN L.channel = 0 THEN 2 ELSE 8 END AS c_biz,
       CASE WHEN L.room > 0 THEN 'live' WHEN L.video > 0 THEN 'video' ELSE '' END AS ad_env_type,
       CASE L.channel WHEN 3 THEN 1 WHEN 4 THEN 2 ELSE 0 END AS send_pay, 0 AS trade_type,
       CASE WHEN WL.warehouse_id IS NULL THEN '[]' ELSE to_json([{{'warehouse_id': WL.warehouse_id,
            'out_warehouse_id': WL.warehouse_id, 'warehouse_type': coalesce(WH.warehouse_type, 0)}}])::VARCHAR END AS inventory_list,
       CASE WHEN L.as_type >= 0 THEN to_json({{'after_sale_status': L.as_status, 'after_sale_type': L.as_type,
            'refund_status': L.refund_status}})::VARCHAR ELSE '{{}}' END AS after_sale_info,
       {dt("L.o_update")} AS dt
FROM L JOIN CS ON CS.idx = L.sku JOIN CP ON CP.idx = L.product LEFT JOIN AU ON AU.idx = L.author
LEFT JOIN WL ON WL.line_id = L.line_id LEFT JOIN WH ON WH.warehouse_id = WL.warehouse_id
ORDER BY L.line_id
"""

AFTER_SALE = f"""
SELECT (L.line_id + 200000000000000000)::VARCHAR AS aftersale_id, L.line_id::VARCHAR AS related_id,
       L.parent_id::VARCHAR AS shop_order_id, L.shop_id::VARCHAR AS shop_id, L.as_type AS aftersale_type,
       L.as_status AS aftersale_status, L.refund_status,
       CASE WHEN L.as_type IN (0, 1, 2, 6) THEN 1 ELSE 0 END AS refund_type,
       L.as_apply AS apply_time, L.as_apply AS create_time, L.as_update AS update_time,
       CASE WHEN L.as_status IN (12, 27, 28) THEN 0 ELSE L.as_apply + 172800 END AS status_deadline,
       L.refund_time, CASE WHEN L.as_type IN (0, 1, 2, 6) THEN L.refund_amount ELSE 0 END AS refund_amount,
       L.claim AS refund_post_amount, 0::BIGINT AS refund_tax_amount,
       L.promo_back AS return_promotion_amount,
       L.as_num AS aftersale_num,
       CASE WHEN L.as_type = 0 THEN 'SF15' || lpad((L.line_id % 100000000000)::VARCHAR, 11, '0') ELSE '' END AS return_logistics_code,
       CASE WHEN L.as_type = 0 THEN '顺丰速运' ELSE '' END AS return_logistics_company_name,
       CASE WHEN L.as_type IN (0, 1, 3, 7) THEN 1 ELSE 0 END AS got_pkg, 0 AS arbitrate_status,
       to_json([{{'code': 100 + L.as_type, 'name': CASE L.as_type WHEN 0 THEN '质量问题' WHEN 1 THEN '少件/漏发'
            WHEN 2 THEN '不想要了' WHEN 3 THEN '尺码不合适' WHEN 6 THEN '降价补差' ELSE '物流丢件' END}}])::VARCHAR AS reason_second_labels,
       to_json({{'shop_order_id': L.parent_id::VARCHAR, 'related_order_info': [{{'sku_order_id': L.line_id::VARCHAR,
            'order_status': L.status, 'pay_amount': L.pay_amount, 'item_num': L.item_num,
            'aftersale_pay_amount': CASE WHEN L.as_type IN (0, 1, 2, 6) THEN L.refund_amount ELSE 0 END,
            'aftersale_item_num': L.as_num, 'product_id': CP.product_id::VARCHAR}}]}})::VARCHAR AS order_info,
       {dt("L.as_update")} AS dt
FROM L JOIN CP ON CP.idx = L.product
WHERE L.as_type >= 0
ORDER BY aftersale_id
"""

ALLIANCE_ORDER = f"""
SELECT L.line_id::VARCHAR AS order_id, L.shop_id::VARCHAR AS shop_id, CP.product_id::VARCHAR AS product_id,
       AU.author_id::VARCHAR AS author_id, AU.name AS author_account, AU.short_id::VARCHAR AS short_id,
       L.pay_amount AS total_pay_amount, AL.commission_rate_bp, AL.colonel_service_rate_bp,
       AL.estimated_comission, AL.real_comission, AL.order_status, 1 AS alliance_biz_type,
       L.create_t AS create_time, AL.update_time, AL.settle_time,
       {dt("AL.update_time")} AS dt
FROM AL JOIN L ON L.i = AL.line JOIN CP ON CP.idx = L.product JOIN AU ON AU.idx = L.author
ORDER BY L.line_id
"""

SETTLEMENT_COLS = """
       SB.settle_time, 'JS' || L.line_id::VARCHAR || SB.k::VARCHAR AS request_no, L.parent_id::VARCHAR AS shop_order_id,
       L.line_id::VARCHAR AS order_id, CP.product_id::VARCHAR AS product_id,
       CASE WHEN SB.k = 3 THEN 1 ELSE 0 END AS trade_type, SB.settle_amount, SB.total_income, SB.real_pay_amount,
       SB.refund_before_settle, SB.platform_coupon, SB.author_coupon, 0::BIGINT AS zt_pay_promotion,
       0::BIGINT AS zr_pay_promotion, SB.platform_service_fee, SB.commission, 0::BIGINT AS good_learn_channel_fee,
       SB.colonel_service_fee, 0::BIGINT AS channel_promotion_fee, 0::BIGINT AS other_sharing_amount,
       '' AS other_sharing_desc, SB.total_outcome, CASE WHEN SB.k = 3 THEN '结算后退款' ELSE '' END AS remark,
       L.shop_id::VARCHAR AS shop_id"""

SETTLEMENT_BILL = f"""
SELECT {SETTLEMENT_COLS},
       L.pay AS order_time, L.item_num AS goods_count,
       CASE WHEN SB.flow_type = 3 THEN '精选联盟' ELSE '小店自卖' END AS flow_type_desc, 1 AS order_type,
       CASE WHEN SB.refund_before_settle > 0 THEN 1 ELSE 0 END AS is_contains_refund_before_settle,
       SB.real_pay_amount AS total_amount, L.origin AS total_goods_amount, 0::BIGINT AS post_amount,
       L.p_shop AS shop_coupon, 0::BIGINT AS packing_amount,
       {dt("SB.settle_time")} AS dt
FROM SB JOIN L ON L.i = SB.line JOIN CP ON CP.idx = L.product
ORDER BY request_no
"""

FUND_FLOW = f"""
SELECT FF.bill_time, 'DZ' || L.line_id::VARCHAR || FF.k::VARCHAR AS account_trade_no, FF.direction::BIGINT AS fund_flow,
       FF.account_amount, '聚合账户' AS account_type,
       CASE FF.tag WHEN 3 THEN '订单结算' WHEN 2 THEN '结算后退款' WHEN 30 THEN '调账' WHEN 31 THEN '平台赔付' ELSE '运费险扣费' END AS account_bill_desc,
       FF.tag::BIGINT AS account_bill_desc_tag, L.line_id::VARCHAR AS order_id, L.parent_id::VARCHAR AS shop_order_id,
       FF.pay_amount, 0::BIGINT AS post_amount, FF.promotion_amount, FF.refund_amount, FF.platform_service_fee,
       FF.commission, FF.colonel_service_fee, 0::BIGINT AS channel_fee,
       CASE FF.tag WHEN 30 THEN '订单调账' ELSE '' END AS remark, L.shop_id::VARCHAR AS shop_id,
       CASE FF.tag WHEN 20 THEN 3 WHEN 30 THEN 5 WHEN 31 THEN 5 ELSE 1 END AS biz_type, '' AS after_sale_service_no, 0::BIGINT AS author_coupon_subsidy,
       {dt("FF.bill_time")} AS dt
FROM FF JOIN L ON L.i = FF.line
ORDER BY account_trade_no
"""

# Withdrawals (提现): no order ids; same columns and types as FUND_FLOW.
WITHDRAWAL = f"""
SELECT bill_time, account_trade_no, 1::BIGINT AS fund_flow, account_amount, '聚合账户' AS account_type,
       '提现' AS account_bill_desc, 11::BIGINT AS account_bill_desc_tag, NULL::VARCHAR AS order_id,
       NULL::VARCHAR AS shop_order_id, NULL::BIGINT AS pay_amount, NULL::BIGINT AS post_amount,
       NULL::BIGINT AS promotion_amount, NULL::BIGINT AS refund_amount, NULL::BIGINT AS platform_service_fee,
       NULL::BIGINT AS commission, NULL::BIGINT AS colonel_service_fee, NULL::BIGINT AS channel_fee, '' AS remark,
       shop_id, 4 AS biz_type, '' AS after_sale_service_no, NULL::BIGINT AS author_coupon_subsidy,
       {dt("bill_time")} AS dt
FROM WD ORDER BY account_trade_no
"""

_YUAN = "CAST(CAST({c} AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,2))"  # fen -> yuan, exact

# Qianchuan report rows (``AD``: reports.AD_COLUMNS); money as yuan DECIMAL(18,2), as the API speaks it.
AD_REPORT = f"""
SELECT advertiser_id, shop_id, CAST(stat_date AS DATE) AS stat_date, marketing_goal,
       {_YUAN.format(c="cost_fen")} AS stat_cost, show_cnt::BIGINT AS show_cnt, click_cnt::BIGINT AS click_cnt,
       pay_order_count::BIGINT AS pay_order_count, {_YUAN.format(c="pay_order_fen")} AS pay_order_amount,
       {_YUAN.format(c="create_order_fen")} AS create_order_amount, dy_follow::BIGINT AS dy_follow,
       total_play::BIGINT AS total_play, play_over_rate::DOUBLE AS play_over_rate, CAST(stat_date AS DATE) AS dt
FROM AD ORDER BY advertiser_id, marketing_goal
"""

# Shop-level movements without an order (``SF``: bill_time, account_trade_no, fund_flow, account_amount,
# account_type, account_bill_desc, account_bill_desc_tag, remark, shop_id, biz_type): 保证金 top-ups,
# penalty deductions (违规扣款) and refunds; same columns and types as FUND_FLOW.
SHOP_FLOW = f"""
SELECT bill_time, account_trade_no, fund_flow::BIGINT AS fund_flow, account_amount, account_type,
       account_bill_desc, account_bill_desc_tag::BIGINT AS account_bill_desc_tag, NULL::VARCHAR AS order_id,
       NULL::VARCHAR AS shop_order_id, NULL::BIGINT AS pay_amount, NULL::BIGINT AS post_amount,
       NULL::BIGINT AS promotion_amount, NULL::BIGINT AS refund_amount, NULL::BIGINT AS platform_service_fee,
       NULL::BIGINT AS commission, NULL::BIGINT AS colonel_service_fee, NULL::BIGINT AS channel_fee, remark,
       shop_id, biz_type::INTEGER AS biz_type, '' AS after_sale_service_no, NULL::BIGINT AS author_coupon_subsidy,
       {dt("bill_time")} AS dt
FROM SF ORDER BY account_trade_no
"""
