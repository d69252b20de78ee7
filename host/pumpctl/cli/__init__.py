"""The `pumpctl` command line: the parser (main), one module per verb group, rendering and plots."""
