from genailog.cli.app import main

main()
