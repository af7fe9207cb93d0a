namespace QuantTune.Models.Config;

/// <summary>
/// Gemma 4's per-layer inputs (hidden_size_per_layer_input, vocab_size_per_layer_input): a second embedding table
/// of <see cref="Size"/> values per layer for each token (embed_tokens_per_layer, [vocab, layers·size], scaled by √size),
/// added to a projection of the input embeddings (per_layer_model_projection, scaled by hidden^-½ and RMS-normalised),
/// the sum times 2^-½; each layer gates its slice with its hidden state and adds it back through a projection.
/// </summary>
public sealed record PerLayerInputs(int Size, int VocabSize);
