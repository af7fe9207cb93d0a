using QuantTune.Diagnostics;
using QuantTune.Models.Layers;
using QuantTune.Qat;
using QuantTune.Quantization.Layers;
using QuantTune.Runtime;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using Linear = QuantTune.Models.Layers.Linear;
using static TorchSharp.torch;

namespace QuantTune.Peft.Lora;

/// <summary>
/// A frozen linear layer plus a trainable low-rank update, as PEFT's <c>lora.Linear</c>:
/// y = base(x) + s·B(A(dropout(x))) with A [r, in], B [out, r] and s = alpha/r (alpha/√r with
/// rsLoRA). The base is a full-precision <see cref="Linear"/>, a 4-bit
/// <see cref="QuantizedLinear"/> (QLoRA) or a frozen fake-quantized <see cref="FakeQuantLinear"/>
/// (QAT with LoRA). The field names make the parameter names PEFT's:
/// <c>q_proj.base_layer.weight</c>, <c>q_proj.lora_A.weight</c>, <c>q_proj.lora_B.weight</c>,
/// <c>q_proj.lora_magnitude_vector</c>.
/// </summary>
/// <remarks>
/// With DoRA (Liu et al. 2024) the layer also learns a magnitude m per output row and computes,
/// as PEFT does, y = base(x) + (m/‖W + s·BA‖ − 1)·Wx + (m/‖W + s·BA‖)·s·BAx, where the row norm is
/// detached from the graph (section 4.3 of the paper) so it is treated as a constant in backward.
/// The adapter's parameters live in their own dtype (fp32 by default) even over a bf16 or 4-bit
/// base: the input is cast to it and the update back to the base's output dtype.
/// </remarks>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> base_layer;
    public Linear lora_A, lora_B;
    /// <summary>DoRA's magnitude m [out]; null for plain LoRA.</summary>
    public Parameter? lora_magnitude_vector;

    public int Rank { get; }
    public double Alpha { get; }
    public double Scaling { get; }
    public double Dropout { get; }
    public bool UseDora => lora_magnitude_vector is not null;
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public ScalarType LoraDType { get; }
    /// <summary>Whether s·BA (DoRA: the rescaled weight) is currently folded into the base weight.</summary>
    public bool Merged { get; private set; }

    /// <summary>
    /// PEFT's <c>disable_adapter()</c>: while set, forward is the base layer's alone (the model before the adapter,
    /// the reference model of preference optimisation). Not for a merged layer, whose base weight holds the update.
    /// </summary>
    public bool AdapterDisabled { get; set; }

    /// <summary>DoRA's row norms at merge time, needed to undo the merge exactly.</summary>
    Tensor? _mergedNorm;

    /// <param name="baseLayer">a <see cref="Linear"/> or <see cref="QuantizedLinear"/>; its parameters are frozen</param>
    /// <param name="generator">draws A (and B when <paramref name="zeroB"/> is false); a seeded one makes the init reproducible</param>
    /// <param name="zeroB">B = 0, so the adapter starts as the identity update (PEFT's <c>init_lora_weights=True</c>)</param>
    public LoraLinear(nn.Module<Tensor, Tensor> baseLayer, int r, double alpha, double dropout = 0, bool useRsLora = false, bool useDora = false,
        ScalarType dtype = ScalarType.Float32, Generator? generator = null, bool zeroB = true) : base(nameof(LoraLinear))
    {
        if (r <= 0) throw new ArgumentOutOfRangeException(nameof(r), r, "the rank must be positive");
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout is a probability in [0, 1)");
        base_layer = baseLayer;
        (InFeatures, OutFeatures, var device) = baseLayer switch
        {
            Linear l => (l.InFeatures, l.OutFeatures, l.weight.device),
            QuantizedLinear q => (q.InFeatures, q.OutFeatures, q.Weight.Tensors.Values.First().device),
            FakeQuantLinear f => (f.InFeatures, f.OutFeatures, f.weight.device),
            _ => throw new ArgumentException($"LoRA wraps a Linear, a QuantizedLinear or a fake-quantized linear layer, not a {baseLayer.GetType().Name}", nameof(baseLayer)),
        };
        Rank = r;
        Alpha = alpha;
        Dropout = dropout;
        Scaling = useRsLora ? alpha / Math.Sqrt(r) : alpha / r;
        LoraDType = dtype;
        foreach (var p in baseLayer.parameters()) p.requires_grad = false;

        lora_A = new Linear(InFeatures, r, false, dtype, device);
        lora_B = new Linear(r, OutFeatures, false, dtype, device);
        using (NewDisposeScope()) // the handles in-place ops return
        using (no_grad())
        {
            // PEFT: kaiming_uniform_(A, a=√5), i.e. uniform(±1/√in), and B = 0.
            lora_A.ResetParameters(generator);
            if (zeroB) lora_B.weight.zero_();
            else lora_B.ResetParameters(generator);
        }
        if (useDora)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var m = RowNorm(BaseWeight(dtype), DeltaWeight());
            lora_magnitude_vector = new Parameter(m.MoveToOuterDisposeScope(), requires_grad: true);
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var result = base_layer.forward(x);
        if (Merged || AdapterDisabled) return result.MoveToOuterDisposeScope();
        var input = x.to_type(LoraDType);
        var dropped = Dropout > 0 && training ? nn.functional.dropout(input, Dropout, true) : input;
        var update = lora_B.forward(lora_A.forward(dropped));
        Tensor delta;
        if (lora_magnitude_vector is null)
        {
            delta = update.Times(Scaling);
        }
        else
        {
            // PEFT's DoraLinearLayer.forward: the norm of W + s·BA, with BA and the norm detached.
            var weight = BaseWeight(LoraDType);
            Tensor norm;
            using (no_grad()) norm = RowNorm(weight, DeltaWeight());
            var scale = lora_magnitude_vector / norm;
            // Without active dropout, W·x is the base output less its bias (as PEFT reuses it);
            // with dropout it is recomputed on the dropped input.
            var bias = BaseBias;
            var wx = !ReferenceEquals(dropped, input) ? nn.functional.linear(dropped, weight)
                : (bias is null ? result : result - bias).to_type(LoraDType);
            delta = (scale.Minus(1) * wx).Plus((scale * update).Times(Scaling));
        }
        return result.Plus(delta.to_type(result.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>s·B·A [out, in] in the adapter's dtype.</summary>
    public Tensor DeltaWeight() => matmul(lora_B.weight, lora_A.weight).Times(Scaling);

    /// <summary>
    /// Folds the update into the base weight (LoRA: W ← W + s·BA; DoRA: W ← m/‖W + s·BA‖ ⊙ (W + s·BA)),
    /// so that forward costs one matmul. Returns false, changing nothing, when already merged.
    /// A 4-bit base is refused: its weight cannot hold the sum without requantizing.
    /// </summary>
    public bool Merge()
    {
        if (Merged) return false;
        var weight = FullPrecisionBase("merge").weight;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = weight.to_type(LoraDType);
        var sum = w.Plus(DeltaWeight());
        if (lora_magnitude_vector is not null)
        {
            var norm = RowNorm(w, DeltaWeight());
            sum = (lora_magnitude_vector / norm).unsqueeze(1) * sum;
            _mergedNorm = norm.MoveToOuterDisposeScope();
        }
        weight.copy_(sum);
        Merged = true;
        return true;
    }

    /// <summary>Undoes <see cref="Merge"/> (to rounding). Returns false, changing nothing, when not merged.</summary>
    public bool Unmerge()
    {
        if (!Merged) return false;
        var weight = FullPrecisionBase("unmerge").weight;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = weight.to_type(LoraDType);
        if (lora_magnitude_vector is not null)
        {
            w = w / (lora_magnitude_vector / _mergedNorm!).unsqueeze(1);
            _mergedNorm!.Dispose();
            _mergedNorm = null;
        }
        weight.copy_(w - DeltaWeight());
        Merged = false;
        return true;
    }

    Linear FullPrecisionBase(string operation) => base_layer as Linear
        ?? throw new QuantTuneException($"cannot {operation} a LoRA adapter into a 4-bit quantized layer ({base_layer.GetType().Name}): its weight would have to be requantized, losing the adapter's precision. Load the full-precision model, load the adapter onto it and merge there");

    /// <summary>The base weight [out, in] in <paramref name="dtype"/> (a 4-bit base is dequantized).</summary>
    Tensor BaseWeight(ScalarType dtype) => base_layer switch
    {
        Linear l => l.weight.detach().to_type(dtype),
        QuantizedLinear q => q.Weight.Dequantize(dtype),
        FakeQuantLinear f => f.HardQuantizedWeight().to_type(dtype),
        _ => throw new InvalidOperationException(),
    };

    Tensor? BaseBias => base_layer switch
    {
        Linear l => l.bias,
        QuantizedLinear q => q.bias,
        FakeQuantLinear f => f.bias,
        _ => null,
    };

    /// <summary>‖W + ΔW‖ per output row (PEFT's <c>get_weight_norm</c>: the L2 norm over the input dimension).</summary>
    static Tensor RowNorm(Tensor weight, Tensor delta) => weight.Plus(delta).norm(1, false, 2);
}
