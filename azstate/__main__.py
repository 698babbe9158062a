from azstate.cli import main

raise SystemExit(main())
