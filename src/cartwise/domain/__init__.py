"""The pay-later domain: table schemas and installment-plan math."""
