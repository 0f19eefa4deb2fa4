from globalpic_cli import main

main()
