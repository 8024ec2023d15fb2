from douyin_etl.sources.doudian.signing import canonical_json, method_to_path, path_to_method, sign, verify

PARAMS = {"b": [{"d": 2, "c": "中文<&>"}], "a": 1}
# Computed independently with: printf '<sign string>' | openssl dgst -sha256 -hmac app_secret_X  (and md5sum)
EXPECTED_HMAC = "dab68ef5ec63ade7e9bcc9ac18aa8120c38266d99676021769517e6f179b8dab"
EXPECTED_MD5 = "41014bcf9882d2d5fa46cd63758e8b19"


def test_canonical_json_sorts_recursively_without_spaces_or_escaping():
    assert canonical_json(PARAMS) == '{"a":1,"b":[{"c":"中文<&>","d":2}]}'
    assert canonical_json({}) == "{}"
    assert canonical_json(None) == "{}"


def test_sign_equals_hand_computed_example():
    pj = canonical_json(PARAMS)
    assert sign("k1", "app_secret_X", "order.searchList", pj, 1700000000) == EXPECTED_HMAC
    assert sign("k1", "app_secret_X", "order.searchList", pj, "1700000000", sign_method="md5") == EXPECTED_MD5


def test_verify_rejects_any_change():
    pj = canonical_json(PARAMS)
    good = sign("k1", "app_secret_X", "order.searchList", pj, 1700000000)
    assert verify("k1", "app_secret_X", "order.searchList", pj, 1700000000, good)
    assert not verify("k1", "app_secret_X", "order.searchList", pj.replace("1", "2"), 1700000000, good)
    assert not verify("k1", "app_secret_X", "order.searchList", pj, 1700000001, good)
    assert not verify("k1", "other_secret", "order.searchList", pj, 1700000000, good)
    assert not verify("k1", "app_secret_X", "order.searchList", pj, 1700000000, good, sign_method="sha1")


def test_method_path_round_trip():
    assert method_to_path("order.searchList") == "/order/searchList"
    assert path_to_method("/afterSale/List") == "afterSale.List"
