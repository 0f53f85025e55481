"""Expression editing on a face mesh: FACS-built displacements, transfer between faces, a smooth warp."""
