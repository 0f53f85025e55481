from emocam.live.app import main

raise SystemExit(main())
