"""Style packs: one module per pack kind behind one interface (`base.PackKind`), found and loaded by `registry`;
making packs (`authoring`) apart from running them."""
