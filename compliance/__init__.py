"""The pure domain of CCER offsetting in China's national carbon market: cycles, rules, status, reminders."""
