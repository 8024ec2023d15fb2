"""douyin_sim: the simulated Douyin (抖店) platform the product is built and tested against.

Not part of the product: ``douyin_etl`` reads real shops' data and imports this package only in the
demo's wiring (``douyin_etl/demo.py``; enforced by ``tests/test_package_boundaries.py``).

- ``simulator``: a seeded merchant's world: what the platform holds (``platform/``), the files that
  arrive each day (``drops/``) and the ground truth (``truth/``);
- ``mock_api``: the Doudian Open API on loopback over such a world (signing, tokens, paging, faults).

It imports the product's contracts (entity registry, file specs, endpoint specs, protocol, money and
time rules), never the other way round.
"""
