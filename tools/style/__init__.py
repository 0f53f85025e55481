"""Style network tools: nets, losses, the multistyle teacher, training, export, evaluation, contact sheets."""
