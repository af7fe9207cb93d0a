using QuantTune.Diagnostics;
using QuantTune.Formats.Safetensors;
using QuantTune.Models.Config;
using static TorchSharp.torch;

namespace QuantTune.Models.Loading;

/// <summary>
/// gpt-oss's layout of a layer's experts (GptOssExperts; <see cref="MixtureOfExperts.StoredInterleaved"/>), read into
/// QuantTune's per-expert projections <c>experts.N.{gate,up,down}_proj</c> one expert at a time:
/// <list type="bullet">
/// <item>plain (transformers' dequantized save, bf16 or fp32): <c>experts.gate_up_proj</c> [experts, hidden, 2 × width]
/// whose even columns are the gate's and odd columns the up projection's (forward: x @ gate_up_proj[e], then
/// [..., ::2] and [..., 1::2]), <c>experts.gate_up_proj_bias</c> [experts, 2 × width] interleaved alike,
/// <c>experts.down_proj</c> [experts, width, hidden] and <c>experts.down_proj_bias</c> [experts, hidden];</item>
/// <item>MXFP4 (the Hub's checkpoints): <c>experts.gate_up_proj_blocks</c> [experts, 2 × width, hidden / 32, 16] and
/// <c>_scales</c> [experts, 2 × width, hidden / 32], <c>experts.down_proj_blocks</c> [experts, hidden, width / 32, 16] and
/// <c>_scales</c>, already [out, in] per expert (<see cref="Mxfp4"/>), rows interleaved as the columns above; the
/// biases as in the plain layout.</item>
/// </list>
/// </summary>
public static class InterleavedExperts
{
    /// <summary>Where a per-expert parameter comes from: the checkpoint tensors it reads, and the read itself (fp32, [out, in] or [out]).</summary>
    public sealed record Source(IReadOnlyList<string> Keys, Func<SafetensorsCheckpoint, Tensor> Read);

    /// <summary>
    /// The source of checkpoint key <paramref name="key"/> (an expert's gate, up or down weight or bias), or null where the
    /// key is none, the config's experts are not stored interleaved, or the checkpoint holds the key itself (a folder
    /// QuantTune saved, which keeps one tensor per expert). Tensors of other shapes than the config describes are errors
    /// naming the file and the key.
    /// </summary>
    public static Source? Of(ModelConfig c, SafetensorsCheckpoint checkpoint, string key)
    {
        if (c.Experts is not { StoredInterleaved: true } moe || checkpoint.Contains(key)) return null;
        var parts = key.Split('.');
        if (parts.Length < 4 || parts[^4] != "experts" || !int.TryParse(parts[^3], out int expert)) return null;
        string block = string.Join('.', parts[..^3]) + ".";
        string projection = parts[^2], kind = parts[^1];
        var n = moe.ExpertNames;
        bool gate = projection == n.Gate, up = projection == n.Up, down = projection == n.Down;
        if (!(gate || up || down) || kind is not ("weight" or "bias")) return null;
        long e = moe.NumExperts, h = c.HiddenSize, w = moe.ExpertIntermediateSize;
        string fused = block + (down ? "down_proj" : "gate_up_proj");
        if (kind == "bias")
        {
            long width = down ? h : 2 * w;
            Check(checkpoint, fused + "_bias", [e, width], down ? "[num_local_experts, hidden_size]" : "[num_local_experts, 2 × intermediate_size]");
            return new Source([fused + "_bias"], ck =>
            {
                using var row = Slice(ck, fused + "_bias", expert, [width]);
                return down ? row.clone() : Half(row, up, 0);
            });
        }
        if (checkpoint.Contains(fused + "_blocks"))
        {
            long rows = down ? h : 2 * w, columns = down ? w : h;
            if (columns % Mxfp4.BlockSize != 0)
                throw new InvalidFormatException(checkpoint.PathOf(fused + "_blocks"), fused + "_blocks",
                    $"holds MXFP4 blocks of {Mxfp4.BlockSize} values, which {(down ? "intermediate_size" : "hidden_size")} ({columns}) does not divide");
            long groups = columns / Mxfp4.BlockSize;
            string shape = down ? "hidden_size, intermediate_size / 32" : "2 × intermediate_size, hidden_size / 32";
            Check(checkpoint, fused + "_blocks", [e, rows, groups, Mxfp4.BlockSize / 2], $"[num_local_experts, {shape}, 16]");
            Check(checkpoint, fused + "_scales", [e, rows, groups], $"[num_local_experts, {shape}]");
            return new Source([fused + "_blocks", fused + "_scales"], ck =>
            {
                using var scope = NewDisposeScope();
                using var blocks = Slice(ck, fused + "_blocks", expert, [rows, groups * Mxfp4.BlockSize / 2], ScalarType.Byte);
                using var scales = Slice(ck, fused + "_scales", expert, [rows, groups], ScalarType.Byte);
                var dense = Mxfp4.Dequantize(blocks, scales); // [rows, columns] = [out, in] of the down projection, or gate/up rows interleaved
                return (down ? dense : Half(dense, up, 0)).MoveToOuterDisposeScope();
            });
        }
        long[] stored = down ? [e, w, h] : [e, h, 2 * w];
        Check(checkpoint, fused, stored, down ? "[num_local_experts, intermediate_size, hidden_size]" : "[num_local_experts, hidden_size, 2 × intermediate_size]");
        return new Source([fused], ck =>
        {
            using var scope = NewDisposeScope();
            using var x = Slice(ck, fused, expert, stored[1..]); // [in, out]
            return (down ? x.t().contiguous() : Half(x, up, 1).t().contiguous()).MoveToOuterDisposeScope();
        });
    }

    /// <summary>The gate's (even) or the up projection's (odd) entries of an interleaved tensor along <paramref name="dim"/>, contiguous.</summary>
    static Tensor Half(Tensor x, bool up, long dim)
    {
        using var scope = NewDisposeScope();
        var index = Runtime.PinnedScalarMath.Arange(up ? 1 : 0, x.shape[dim], 2, ScalarType.Int64, x.device);
        return x.index_select(dim, index).MoveToOuterDisposeScope();
    }

    /// <summary>Expert <paramref name="expert"/>'s slice [shape] of a tensor whose first dimension is the experts, read alone.</summary>
    static Tensor Slice(SafetensorsCheckpoint checkpoint, string key, long expert, long[] shape, ScalarType dtype = ScalarType.Float32)
    {
        var slice = empty(shape, dtype);
        long size = shape.Aggregate(1L, (a, b) => a * b);
        checkpoint.LoadRange(key, expert * size, slice);
        return slice;
    }

    static void Check(SafetensorsCheckpoint checkpoint, string key, long[] expected, string meaning)
    {
        if (!checkpoint.Contains(key))
            throw new InvalidFormatException(Path.Combine(checkpoint.Directory, "config.json"), null,
                $"describes gpt-oss experts that the checkpoint's {string.Join(", ", checkpoint.Files.Select(f => f.Path))} lack(s): no '{key}'; is config.json for this checkpoint?");
        var shape = checkpoint.Info(key).Shape;
        if (!shape.SequenceEqual(expected))
            throw new InvalidFormatException(checkpoint.PathOf(key), key,
                $"has shape [{string.Join(", ", shape)}]; the experts of the model built from config.json are [{string.Join(", ", expected)}] ({meaning})");
    }
}
