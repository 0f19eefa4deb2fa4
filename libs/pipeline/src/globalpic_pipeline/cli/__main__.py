from globalpic_pipeline.cli import main

main()
