from douyin_etl.cli import main

raise SystemExit(main())
