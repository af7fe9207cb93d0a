namespace QuantTune.Formats.Gguf.Blocks;

/// <summary>
/// The k-quant helpers of ggml-quants.c (<c>nearest_int</c>, <c>make_qx_quants</c>, <c>make_q3_quants</c>,
/// <c>make_qkx2_quants</c>, <c>get_scale_min_k4</c>), restated operation for operation in single precision
/// so that the chosen levels, and so the bytes, match llama.cpp's reference quantizers.
/// </summary>
static class KQuantMath
{
    /// <summary>Below this largest magnitude a group counts as all zero (<c>GROUP_MAX_EPS</c>).</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// <c>nearest_int</c>: adding 1.5 * 2^23 leaves round-half-to-even(<paramref name="fval"/>) in the low
    /// mantissa bits (valid for |fval| &lt;= 2^22 - 1).
    /// </summary>
    public static int NearestInt(float fval)
    {
        float val = fval + 12582912.0f;
        return (BitConverter.SingleToInt32Bits(val) & 0x007fffff) - 0x00400000;
    }

    /// <summary>
    /// <c>make_qx_quants</c> with <c>rmse_type = 1</c> and no importance weights (as <c>quantize_row_q6_K_ref</c>
    /// calls it): symmetric levels L in [0, 2 nmax) for x = scale * (L - nmax), the scale refined by an
    /// x²-weighted least-squares fit over 19 trial inverse scales. Returns the scale.
    /// </summary>
    public static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<sbyte> L)
    {
        int n = x.Length;
        float max = BlockMath.SignedAbsMax(x);
        if (MathF.Abs(max) < GroupMaxEps)
        {
            L[..n].Clear();
            return 0.0f;
        }
        var (sumlx, suml2) = WeightedLevels(x, -nmax / max, nmax, L, nmax);
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; ++step)
        {
            if (step == 0) continue;
            float iscale = -(nmax + 0.1f * step) / max;
            (sumlx, suml2) = WeightedLevels(x, iscale, nmax, default, 0);
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                WeightedLevels(x, iscale, nmax, L, nmax);
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>
    /// <c>make_q3_quants</c> with <c>do_rmse = true</c>: levels L in [0, 2 nmax) from the amax scale, then up to
    /// five passes that move single levels while the x²-weighted fit improves. Returns the fitted scale.
    /// </summary>
    public static float MakeQ3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> L)
    {
        int n = x.Length;
        float max = BlockMath.SignedAbsMax(x);
        if (MathF.Abs(max) < GroupMaxEps)
        {
            L[..n].Clear();
            return 0.0f;
        }
        var (sumlx, suml2) = WeightedLevels(x, -nmax / max, nmax, L, 0);
        for (int itry = 0; itry < 5; ++itry)
        {
            int changed = 0;
            for (int i = 0; i < n; ++i)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int newL = Math.Max(-nmax, Math.Min(nmax - 1, NearestInt(x[i] * sl2 / slx)));
                    if (newL != L[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            L[i] = (sbyte)newL; sumlx = slx; suml2 = sl2;
                            ++changed;
                        }
                    }
                }
            }
            if (changed == 0) break;
        }
        for (int i = 0; i < n; ++i) L[i] += (sbyte)nmax;
        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }

    /// <summary>
    /// The symmetric levels l = clamp(nearest_int(iscale * x), -nmax, nmax - 1), stored as l + <paramref name="offset"/>
    /// in <paramref name="L"/> unless it is empty, and their x²-weighted sums (sum of w x l, sum of w l²), as both
    /// <c>make_qx_quants</c> and <c>make_q3_quants</c> accumulate them.
    /// </summary>
    static (float SumLX, float SumL2) WeightedLevels(ReadOnlySpan<float> x, float iscale, int nmax, Span<sbyte> L, int offset)
    {
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < x.Length; ++i)
        {
            int l = Math.Max(-nmax, Math.Min(nmax - 1, NearestInt(iscale * x[i])));
            if (!L.IsEmpty) L[i] = (sbyte)(l + offset);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        return (sumlx, suml2);
    }

    /// <summary>
    /// <c>make_qkx2_quants</c>: asymmetric levels L in [0, nmax] for x = scale * L - theMin. Starts from the
    /// min/max grid, then tries <paramref name="nstep"/> + 1 inverse scales (nmax + rmin + rdelta * is) / (max - min),
    /// each followed by a weighted least-squares fit of scale and min; keeps the one with the lowest weighted
    /// error (absolute when <paramref name="useMad"/>, squared otherwise). Returns the scale.
    /// </summary>
    public static float MakeQkx2Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> L,
        out float theMin, Span<byte> laux, float rmin, float rdelta, int nstep, bool useMad)
    {
        int n = x.Length;
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; ++i)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (max == min)
        {
            L[..n].Clear();
            theMin = -min;
            return 0.0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; ++i)
        {
            int l = NearestInt(iscale * (x[i] - min));
            L[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            float diff = scale * L[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }
        for (int step = 0; step <= nstep; ++step)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; ++i)
            {
                int l = Math.Max(0, Math.Min(nmax, NearestInt(iscale * (x[i] - min))));
                laux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; ++i)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError)
                {
                    laux[..n].CopyTo(L);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// <c>get_scale_min_k4</c>: the 6-bit scale and min of sub-block <paramref name="j"/> (0..7) from the 12
    /// packed bytes of Q4_K/Q5_K: sub-blocks 0-3 in the low 6 bits of bytes j and j+4, sub-blocks 4-7 as a
    /// nibble of byte j+4 plus the top 2 bits of bytes j-4 and j.
    /// </summary>
    public static (byte Scale, byte Min) GetScaleMinK4(int j, ReadOnlySpan<byte> q)
    {
        if (j < 4) return ((byte)(q[j] & 63), (byte)(q[j + 4] & 63));
        return ((byte)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)),
                (byte)((q[j + 4] >> 4) | ((q[j] >> 6) << 4)));
    }

    /// <summary>The inverse of <see cref="GetScaleMinK4"/>: stores the 6-bit <paramref name="ls"/> and <paramref name="lm"/> of sub-block <paramref name="j"/>, in the order the reference writes them.</summary>
    static void SetScaleMinK4(int j, byte ls, byte lm, Span<byte> q)
    {
        if (j < 4)
        {
            q[j] = ls;
            q[j + 4] = lm;
        }
        else
        {
            q[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
            q[j - 4] |= (byte)((ls >> 4) << 6);
            q[j] |= (byte)((lm >> 4) << 6);
        }
    }

    /// <summary>
    /// The shared core of <c>quantize_row_q4_K_ref</c> and <c>quantize_row_q5_K_ref</c> for one 256-element
    /// super-block: eight 32-element sub-blocks fitted by <see cref="MakeQkx2Quants"/> with weights
    /// sqrt(mean x²) + |x|, their scales and mins quantized to 6 bits against the fp16 super-scales d and dmin
    /// (written to <paramref name="dm"/>: d then dmin), packed into <paramref name="scales12"/>, then every element
    /// re-quantized to L in [0, nmax] against the stored scales.
    /// </summary>
    public static void QuantizeScaleMinSuperBlock(ReadOnlySpan<float> x, int nmax, float rmin, int nstep,
        Span<byte> dm, Span<byte> scales12, Span<byte> L)
    {
        Span<byte> laux = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> mins = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; ++j)
        {
            var xj = x.Slice(32 * j, 32);
            float sumX2 = 0;
            for (int l = 0; l < 32; ++l) sumX2 += xj[l] * xj[l];
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; ++l) weights[l] = avX + MathF.Abs(xj[l]);
            scales[j] = MakeQkx2Quants(nmax, xj, weights, L.Slice(32 * j, 32), out mins[j], laux, rmin, 0.1f, nstep, useMad: false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63.0f / maxScale : 0.0f;
        float invMin = maxMin > 0 ? 63.0f / maxMin : 0.0f;
        for (int j = 0; j < 8; ++j)
        {
            byte ls = Math.Min((byte)63, unchecked((byte)NearestInt(invScale * scales[j])));
            byte lm = Math.Min((byte)63, unchecked((byte)NearestInt(invMin * mins[j])));
            SetScaleMinK4(j, ls, lm, scales12);
        }
        BlockMath.WriteF16(dm, maxScale / 63.0f);
        BlockMath.WriteF16(dm[2..], maxMin / 63.0f);
        float dAll = BlockMath.ReadF16(dm), dminAll = BlockMath.ReadF16(dm[2..]);
        for (int j = 0; j < 8; ++j)
        {
            var (sc, m) = GetScaleMinK4(j, scales12);
            float d = dAll * sc;
            if (d == 0) continue;
            float dmj = dminAll * m;
            for (int ii = 0; ii < 32; ++ii)
            {
                int l = NearestInt((x[32 * j + ii] + dmj) / d);
                L[32 * j + ii] = (byte)Math.Max(0, Math.Min(nmax, l));
            }
        }
    }

    /// <summary>Packs four 2-bit levels per byte as Q2_K/Q3_K store them: byte l of each 32-byte group holds elements l, l+32, l+64, l+96 of its 128.</summary>
    public static void Pack2Bit(ReadOnlySpan<byte> L, Span<byte> qs)
    {
        for (int j = 0; j < GgmlTypes.QK_K; j += 128)
            for (int l = 0; l < 32; ++l)
                qs[j / 4 + l] = (byte)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
}
