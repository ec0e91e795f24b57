"""The command-line layer: parse options, call one library function, render, map errors."""
