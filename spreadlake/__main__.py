from spreadlake.cli import main

main()
