using QuantTune.Runtime;
using static TorchSharp.torch;

namespace QuantTune.Models.Transformer;

/// <summary>
/// The gated delta rule of Gated DeltaNet (Yang et al., 2024), as transformers' torch fallbacks
/// compute it: a state S [Dk, Dv] per value head, at each position decayed by exp(g), corrected
/// towards the value by the delta rule (S += k ⊗ β(v − kᵀS)), and read by the query (oᵀ = qᵀS);
/// queries and keys L2-normalised, queries scaled by Dk^-½, all in fp32.
/// <see cref="Chunked"/> (torch_chunk_gated_delta_rule) turns each chunk of 64 positions into a
/// few matrix products and a triangular solve, for prefill and training;
/// <see cref="Recurrent"/> (torch_recurrent_gated_delta_rule) steps position by position, for
/// decoding from a cached state.
/// </summary>
public static class GatedDeltaRule
{
    /// <summary>Positions per chunk of <see cref="Chunked"/>, as transformers' default.</summary>
    public const int ChunkSize = 64;

    /// <summary>
    /// Queries and keys grouped to the value heads, moved to [B, H, T, D] in fp32 and normalised;
    /// β and g to [B, H, T].
    /// </summary>
    static (Tensor Q, Tensor K, Tensor V, Tensor Beta, Tensor G) Prepare(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta)
    {
        long valueHeads = v.shape[2];
        if (k.shape[2] != valueHeads)
        {
            q = q.repeat_interleave(valueHeads / q.shape[2], 2);
            k = k.repeat_interleave(valueHeads / k.shape[2], 2);
        }
        Tensor F(Tensor x) => x.transpose(1, 2).to_type(ScalarType.Float32).contiguous();
        q = L2Normalize(F(q));
        k = L2Normalize(F(k));
        q = q.Times(1.0 / Math.Sqrt(q.shape[^1]));
        return (q, k, F(v), F(beta), F(g));
    }

    /// <summary>x·rsqrt(Σx² + 1e-6) over the last dimension (the FLA library's l2norm).</summary>
    static Tensor L2Normalize(Tensor x) => x * rsqrt(x.Power(2).sum([-1], keepdim: true).Plus(1e-6));

    /// <summary>
    /// The rule over a whole sequence in chunks. q, k [B, T, Hk, Dk]; v [B, T, Hv, Dv];
    /// g, β [B, T, Hv]; <paramref name="state"/> [B, Hv, Dk, Dv] or null (zeros). Returns the
    /// output [B, T, Hv, Dv] in v's dtype and the final state (fp32).
    /// </summary>
    public static (Tensor Output, Tensor State) Chunked(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor? state)
    {
        using var scope = NewDisposeScope();
        var dtype = v.dtype;
        long t = q.shape[1];
        (q, k, v, beta, g) = Prepare(q, k, v, g, beta);
        long b = v.shape[0], h = v.shape[1], dk = k.shape[^1], dv = v.shape[^1];
        long pad = (ChunkSize - t % ChunkSize) % ChunkSize, n = (t + pad) / ChunkSize;
        if (pad > 0)
        {
            q = nn.functional.pad(q, [0, 0, 0, pad]);
            k = nn.functional.pad(k, [0, 0, 0, pad]);
            v = nn.functional.pad(v, [0, 0, 0, pad]);
            beta = nn.functional.pad(beta, [0, pad]);
            g = nn.functional.pad(g, [0, pad]);
        }
        var vBeta = (v * beta.unsqueeze(-1)).view(b, h, n, ChunkSize, dv);
        var kBeta = (k * beta.unsqueeze(-1)).view(b, h, n, ChunkSize, dk);
        q = q.view(b, h, n, ChunkSize, dk);
        k = k.view(b, h, n, ChunkSize, dk);
        // The decays' running sums in fp64: with strong decays they reach −1000 within a chunk, where
        // fp32 differences cum_i − cum_j lose about four digits (transformers' fallback keeps fp32).
        var cum64 = g.view(b, h, n, ChunkSize).to_type(ScalarType.Float64).cumsum(-1);
        // decay between positions j ≤ i of a chunk: exp(cum_i − cum_j); nothing from later positions
        using var later = ones(ChunkSize, ChunkSize, ScalarType.Bool, q.device).triu(1);
        var pairwise = (cum64.unsqueeze(-1) - cum64.unsqueeze(-2)).MaskedFill(later, double.NegativeInfinity).exp().to_type(ScalarType.Float32);
        var last64 = cum64.narrow(-1, ChunkSize - 1, 1);
        var kt = k.transpose(-1, -2);
        var system = kBeta.matmul(kt) * pairwise;   // its strictly lower triangle: (I + L) U = β-weighted inputs
        var intra = q.matmul(kt) * pairwise;
        var cumExp = cum64.exp().to_type(ScalarType.Float32).unsqueeze(-1);
        var newValues = linalg.solve_triangular(system, vBeta, upper: false, unitriangular: true);
        var keysDecayed = linalg.solve_triangular(system, kBeta * cumExp, upper: false, unitriangular: true);
        var queries = q * cumExp;
        var keysToEnd = k * (last64 - cum64).exp().to_type(ScalarType.Float32).unsqueeze(-1);
        var chunkDecay = last64.exp().to_type(ScalarType.Float32).unsqueeze(-1);    // [B, H, N, 1, 1]
        var s = state?.to_type(ScalarType.Float32) ?? zeros(b, h, dk, dv, ScalarType.Float32, q.device);
        var outputs = new Tensor[n];
        for (long i = 0; i < n; i++)
        {
            var vNew = newValues.select(2, i) - keysDecayed.select(2, i).matmul(s);
            outputs[i] = queries.select(2, i).matmul(s).Plus(intra.select(2, i).matmul(vNew));
            s = (s * chunkDecay.select(2, i)).Plus(keysToEnd.select(2, i).transpose(-1, -2).matmul(vNew));
        }
        var output = cat(outputs, 2).narrow(2, 0, t).transpose(1, 2).contiguous().to_type(dtype);
        return (output.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }

    /// <summary>The rule position by position from <paramref name="state"/> (null: zeros); shapes and results as <see cref="Chunked"/>.</summary>
    public static (Tensor Output, Tensor State) Recurrent(Tensor q, Tensor k, Tensor v, Tensor g, Tensor beta, Tensor? state)
    {
        using var scope = NewDisposeScope();
        var dtype = v.dtype;
        (q, k, v, beta, g) = Prepare(q, k, v, g, beta);
        long b = v.shape[0], h = v.shape[1], t = v.shape[2], dk = k.shape[^1], dv = v.shape[^1];
        var s = state?.to_type(ScalarType.Float32) ?? zeros(b, h, dk, dv, ScalarType.Float32, q.device);
        var outputs = new Tensor[t];
        for (long i = 0; i < t; i++)
        {
            var kI = k.select(2, i).unsqueeze(-1);                       // [B, H, Dk, 1]
            s = s * g.select(2, i).exp().unsqueeze(-1).unsqueeze(-1);
            var remembered = (s * kI).sum([-2]);                         // kᵀS [B, H, Dv]
            var delta = (v.select(2, i) - remembered) * beta.select(2, i).unsqueeze(-1);
            s = s.Plus(kI * delta.unsqueeze(-2));
            outputs[i] = (s * q.select(2, i).unsqueeze(-1)).sum([-2]);
        }
        var output = stack(outputs, 1).to_type(dtype);                  // [B, T, H, Dv]
        return (output.MoveToOuterDisposeScope(), s.MoveToOuterDisposeScope());
    }
}
