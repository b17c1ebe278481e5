"""Stage-1 models: tri-plane encoder, vector quantiser, decoder, radiance field, renderer."""
