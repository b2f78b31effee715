from aircharge.cli import main

main()
