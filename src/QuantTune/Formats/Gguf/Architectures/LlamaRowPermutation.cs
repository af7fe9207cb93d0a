namespace QuantTune.Formats.Gguf.Architectures;

/// <summary>
/// The row permutation convert_hf_to_gguf.py applies to Llama q/k weights, whose rotary halves HF
/// stores as [first half; second half] per head while llama.cpp expects them interleaved:
/// <c>w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols)</c>, and its inverse.
/// </summary>
public static class LlamaRowPermutation
{
    /// <summary>HF layout to GGUF layout (row-major <paramref name="rows"/> × <paramref name="cols"/>; a bias has cols 1).</summary>
    public static float[] Permute(ReadOnlySpan<float> w, int rows, int cols, int heads) => Apply(w, rows, cols, heads, toGguf: true);

    /// <summary>GGUF layout back to HF layout.</summary>
    public static float[] Unpermute(ReadOnlySpan<float> w, int rows, int cols, int heads) => Apply(w, rows, cols, heads, toGguf: false);

    /// <summary>
    /// The GGUF row each HF row comes from (<see cref="Unpermute"/> as an index map), so that a row-major tensor of any
    /// encoding, GGUF blocks included, can be brought back to HF layout by moving whole rows.
    /// </summary>
    public static int[] HfRowSources(int rows, int heads)
    {
        var rowIds = new float[rows];
        for (int r = 0; r < rows; r++) rowIds[r] = r;
        return Array.ConvertAll(Unpermute(rowIds, rows, 1, heads), f => (int)f);
    }

    static float[] Apply(ReadOnlySpan<float> w, int rows, int cols, int heads, bool toGguf)
    {
        if (w.Length != (long)rows * cols) throw new ArgumentException($"{w.Length} values are not {rows}×{cols}");
        if (heads <= 0 || rows % (2 * heads) != 0) throw new ArgumentException($"{rows} rows do not split into {heads} heads of two rotary halves");
        int headDim = rows / heads, half = headDim / 2;
        var result = new float[w.Length];
        for (int h = 0; h < heads; h++)
            for (int s = 0; s < 2; s++)
                for (int i = 0; i < half; i++)
                {
                    int hfRow = h * headDim + s * half + i, ggufRow = h * headDim + 2 * i + s;
                    int from = toGguf ? hfRow : ggufRow, to = toGguf ? ggufRow : hfRow;
                    w.Slice(from * cols, cols).CopyTo(result.AsSpan(to * cols, cols));
                }
        return result;
    }
}
