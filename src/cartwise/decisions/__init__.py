"""Decision policies: fraud + credit -> approve / review / decline, limits, reasons."""
