namespace QuantTune.Formats.Gguf;

/// <summary>
/// llama.cpp's file types (<c>llama_ftype</c> in llama.h, written as <c>general.file_type</c>): the
/// mixture a whole file is quantized with. The member names are llama-quantize's names.
/// </summary>
public enum LlamaFileType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q8_0 = 7,
    Q5_0 = 8,
    Q5_1 = 9,
    Q2_K = 10,
    Q3_K_S = 11,
    Q3_K_M = 12,
    Q3_K_L = 13,
    Q4_K_S = 14,
    Q4_K_M = 15,
    Q5_K_S = 16,
    Q5_K_M = 17,
    Q6_K = 18,
    BF16 = 32,
    TQ1_0 = 36,
    TQ2_0 = 37,
}

public static class LlamaFileTypes
{
    /// <summary>The CLI names, lower case, in llama-quantize's order.</summary>
    public static IReadOnlyList<string> Names { get; } = Enum.GetValues<LlamaFileType>().Select(Name).ToList();

    /// <summary>The lower-case name (<c>q4_k_m</c>).</summary>
    public static string Name(this LlamaFileType type) => type.ToString().ToLowerInvariant();

    /// <summary>The file type named <paramref name="name"/> (case-insensitive), or null.</summary>
    public static LlamaFileType? Parse(string name) =>
        Enum.GetValues<LlamaFileType>().Cast<LlamaFileType?>().FirstOrDefault(t => string.Equals(t!.Value.ToString(), name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The name of <c>general.file_type</c> <paramref name="id"/>, or null for an id this library does not write.</summary>
    public static string? NameOf(long id) => id is >= 0 and <= uint.MaxValue && Enum.IsDefined(typeof(LlamaFileType), (uint)id) ? ((LlamaFileType)id).ToString() : null;

    /// <summary>The tensor type most 2-D weights get (llama-quant.cpp <c>llama_ftype_get_default_type</c>).</summary>
    public static GgmlType DefaultType(this LlamaFileType type) => type switch
    {
        LlamaFileType.F32 => GgmlType.F32,
        LlamaFileType.F16 => GgmlType.F16,
        LlamaFileType.BF16 => GgmlType.BF16,
        LlamaFileType.Q4_0 => GgmlType.Q4_0,
        LlamaFileType.Q4_1 => GgmlType.Q4_1,
        LlamaFileType.Q5_0 => GgmlType.Q5_0,
        LlamaFileType.Q5_1 => GgmlType.Q5_1,
        LlamaFileType.Q8_0 => GgmlType.Q8_0,
        LlamaFileType.Q2_K => GgmlType.Q2_K,
        LlamaFileType.Q3_K_S or LlamaFileType.Q3_K_M or LlamaFileType.Q3_K_L => GgmlType.Q3_K,
        LlamaFileType.Q4_K_S or LlamaFileType.Q4_K_M => GgmlType.Q4_K,
        LlamaFileType.Q5_K_S or LlamaFileType.Q5_K_M => GgmlType.Q5_K,
        LlamaFileType.Q6_K => GgmlType.Q6_K,
        LlamaFileType.TQ1_0 => GgmlType.TQ1_0,
        LlamaFileType.TQ2_0 => GgmlType.TQ2_0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a llama.cpp file type QuantTune writes"),
    };

    /// <summary>Whether the default type is a quantized (block) type, so that the mixture rules apply (ggml_is_quantized).</summary>
    public static bool IsQuantized(this LlamaFileType type) => type.DefaultType() is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16);
}
