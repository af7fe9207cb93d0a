using QuantTune.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;

namespace QuantTune.Peft.Lora;

/// <summary>
/// PEFT's <c>LoraConfig</c>, with its JSON field names: rank <see cref="R"/>, <see cref="LoraAlpha"/>
/// (scaling alpha/r, or alpha/√r with rsLoRA), dropout on the adapter's input, the target
/// modules, DoRA, and per-module rank/alpha overrides.
/// </summary>
public sealed record LoraConfig : AdapterConfig
{
    public const string Type = "LORA";
    public override string PeftType => Type;

    public int R { get; init; } = 8;
    public double LoraAlpha { get; init; } = 8;
    public double LoraDropout { get; init; }
    /// <summary>PEFT's default for Llama, Mistral and Qwen2 when the config names no targets.</summary>
    public PeftTargets TargetModules { get; init; } = PeftTargets.FromNames("q_proj", "v_proj");
    public bool UseRsLora { get; init; }
    public bool UseDora { get; init; }
    /// <summary>True: B starts at zero so the adapter starts as a no-op (PEFT's default); false: B is random too.</summary>
    public bool InitLoraWeights { get; init; } = true;
    /// <summary>
    /// PEFT's <c>init_lora_weights</c> when it names a way of drawing the adapter ("gaussian",
    /// "orthogonal", "eva"): B starts at zero as with true, so a trained adapter of this kind loads
    /// like any other; the name is written back as it was read. Null when the field is a boolean.
    /// </summary>
    public string? InitLoraWeightsMethod { get; init; }

    /// <summary>Initialisations that only draw A and B: a trained adapter's weights hold all there is.</summary>
    public static readonly IReadOnlySet<string> InitialisationOnlyMethods = new HashSet<string> { "gaussian", "orthogonal", "eva" };
    /// <summary>Modules trained and saved whole next to the adapter (<see cref="Lora.ModulesToSave"/>: the embedding and the LM head).</summary>
    public IReadOnlyList<string>? ModulesToSave { get; init; }
    /// <summary>
    /// PEFT's <c>fan_in_fan_out</c>: the base layers are Conv1D (GPT-2), whose weight is [in, out], so
    /// that ΔW = BA is merged transposed. PEFT sets it for Conv1D targets itself and clears it for
    /// Linear ones; lora_A and lora_B have the same shapes either way, and QuantTune's layers hold
    /// every weight as a Linear's, so it is recorded, not acted on.
    /// </summary>
    public bool FanInFanOut { get; init; }
    /// <summary>Per-module rank, keyed by a pattern matched at the end of the module path.</summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();
    /// <summary>Per-module alpha, keyed like <see cref="RankPattern"/>.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// The null/false fields PEFT 0.21 writes for options QuantTune does not model, so that a new
    /// config has the same layout as one PEFT saved.
    /// </summary>
    static JsonObject DefaultExtra() => new()
    {
        ["alora_invocation_tokens"] = null, ["arrow_config"] = null, ["auto_mapping"] = null, ["corda_config"] = null,
        ["ensure_weight_tying"] = false, ["eva_config"] = null, ["exclude_modules"] = null, ["kasa_config"] = null,
        ["layer_replication"] = null, ["layers_pattern"] = null, ["layers_to_transform"] = null, ["loftq_config"] = new JsonObject(),
        ["lora_bias"] = false, ["lora_ga_config"] = null, ["megatron_config"] = null, ["megatron_core"] = "megatron.core",
        ["monteclora_config"] = null, ["qalora_group_size"] = 16, ["revision"] = null, ["target_parameters"] = null,
        ["trainable_token_indices"] = null, ["use_bdlora"] = null, ["use_qalora"] = false, ["velora_config"] = null,
    };

    public LoraConfig() => Extra = DefaultExtra();

    /// <summary>The rank of the module at <paramref name="path"/>: its <see cref="RankPattern"/> entry, else <see cref="R"/>.</summary>
    public int RankOf(string path) => PatternValue(RankPattern, path) is int r ? r : R;

    /// <summary>The alpha of the module at <paramref name="path"/>: its <see cref="AlphaPattern"/> entry, else <see cref="LoraAlpha"/>.</summary>
    public double AlphaOf(string path) => PatternValue(AlphaPattern, path) is double a ? a : LoraAlpha;

    /// <summary>
    /// PEFT's <c>get_pattern_key</c>: the first key k for which the path fully matches
    /// <c>(.*\.)?(k)</c>, i.e. k matches the path's last segments.
    /// </summary>
    static T? PatternValue<T>(IReadOnlyDictionary<string, T> patterns, string path) where T : struct
    {
        foreach (var (key, value) in patterns)
            if (Regex.IsMatch(path, $"^(?:.*\\.)?(?:{key})$", RegexOptions.CultureInvariant)) return value;
        return null;
    }

    /// <summary>Options PEFT supports that change what the adapter computes and QuantTune does not implement.</summary>
    public void EnsureSupported(string file = FileName)
    {
        Lora.ModulesToSave.Resolve(ModulesToSave, file);
        foreach (var key in new[] { "layers_to_transform", "layers_pattern", "exclude_modules", "layer_replication", "target_parameters", "trainable_token_indices", "alora_invocation_tokens" })
            if (Extra[key] is JsonNode n && !(n is JsonArray { Count: 0 }))
                throw new InvalidFormatException(file, key, $"{n.ToJsonString()} is not supported; expected null");
        foreach (var key in new[] { "lora_bias", "use_qalora", "use_bdlora" })
            if (Extra[key] is JsonValue v && v.TryGetValue(out bool b) && b)
                throw new InvalidFormatException(file, key, "true is not supported; expected false");
        if (R <= 0) throw new InvalidFormatException(file, "r", $"{R} is not a rank; expected a positive integer");
        if (LoraDropout is < 0 or >= 1) throw new InvalidFormatException(file, "lora_dropout", $"{LoraDropout}; expected a probability in [0, 1)");
    }

    internal static LoraConfig FromJson(JsonElement root, string file)
    {
        var f = new JsonField(file, root);
        var known = new HashSet<string> { "peft_type", "task_type", "base_model_name_or_path", "inference_mode", "r", "lora_alpha", "lora_dropout",
            "target_modules", "bias", "use_rslora", "use_dora", "modules_to_save", "fan_in_fan_out", "init_lora_weights", "rank_pattern", "alpha_pattern" };
        var extra = new JsonObject();
        foreach (var p in root.EnumerateObject())
            if (!known.Contains(p.Name)) extra[p.Name] = JsonNode.Parse(p.Value.GetRawText());

        var bias = f.OptionalString("bias") ?? "none";
        if (bias != "none") throw f.Invalid("bias", $"\"{bias}\" is not supported; expected \"none\"");
        var initMethod = InitMethod(f);

        var config = new LoraConfig
        {
            TaskType = f.OptionalString("task_type") ?? "CAUSAL_LM",
            BaseModelNameOrPath = f.OptionalString("base_model_name_or_path"),
            InferenceMode = f.OptionalBool("inference_mode") ?? false,
            R = f.OptionalInt("r") ?? 8,
            LoraAlpha = f.OptionalDouble("lora_alpha") ?? 8,
            LoraDropout = f.OptionalDouble("lora_dropout") ?? 0,
            TargetModules = Targets(f),
            UseRsLora = f.OptionalBool("use_rslora") ?? false,
            UseDora = f.OptionalBool("use_dora") ?? false,
            FanInFanOut = f.OptionalBool("fan_in_fan_out") ?? false,
            InitLoraWeights = initMethod is not null || (f.OptionalBool("init_lora_weights") ?? true),
            InitLoraWeightsMethod = initMethod,
            ModulesToSave = StringList(f, "modules_to_save"),
            RankPattern = Patterns(f, "rank_pattern", v => v.Element.ValueKind == JsonValueKind.Number && v.Element.TryGetInt32(out int i) && i > 0 ? i
                : throw v.Fail("a positive integer")),
            AlphaPattern = Patterns(f, "alpha_pattern", v => v.GetDouble()),
            Extra = extra,
        };
        config.EnsureSupported(file);
        return config;
    }

    /// <summary>
    /// The name in <c>init_lora_weights</c>, null for a boolean. PiSSA, OLoRA, CorDA and LoftQ are
    /// refused: they change the base weights when the adapter is created, so the adapter is only
    /// right on that changed base, which the folder does not hold.
    /// </summary>
    static string? InitMethod(JsonField f)
    {
        if (f.Optional("init_lora_weights") is not { } init || init.Element.ValueKind is JsonValueKind.True or JsonValueKind.False) return null;
        if (init.Element.ValueKind != JsonValueKind.String)
            throw init.Invalid($"{init.Element.GetRawText()} is not supported; expected true, false, \"gaussian\", \"orthogonal\" or \"eva\"");
        var name = init.GetString();
        if (InitialisationOnlyMethods.Contains(name)) return name;
        if (name is "pissa" or "olora" or "corda" or "loftq" || name.StartsWith("pissa_niter_", StringComparison.Ordinal))
            throw init.Invalid($"\"{name}\" changes the base model's weights when the adapter is created, so this adapter is only right on that changed base; " +
                "convert it to a plain LoRA with PEFT (save_pretrained(..., path_initial_model_for_weight_conversion=...)) and load that");
        throw init.Invalid($"\"{name}\" is not supported; expected true, false, \"gaussian\", \"orthogonal\" or \"eva\"");
    }

    static PeftTargets Targets(JsonField f)
    {
        if (f.Optional("target_modules") is not { } v) return new LoraConfig().TargetModules;
        if (v.Element.ValueKind == JsonValueKind.String) return PeftTargets.FromPattern(v.GetString());
        var names = StringList(f, "target_modules")!;
        if (names.Count == 0) throw v.Invalid("is empty; expected module names, \"all-linear\" or a regular expression");
        return PeftTargets.FromNames(names);
    }

    static IReadOnlyList<string>? StringList(JsonField f, string key)
    {
        if (f.Optional(key) is not { } v) return null;
        if (v.Element.ValueKind != JsonValueKind.Array) throw v.Fail("an array of strings");
        return v.Items().Select(e => e.GetString()).ToList();
    }

    static Dictionary<string, T> Patterns<T>(JsonField f, string key, Func<JsonField, T> value)
    {
        var result = new Dictionary<string, T>();
        if (f.Optional(key) is not { } v) return result;
        foreach (var (name, item) in v.AsObject().Properties()) result[name] = value(item);
        return result;
    }

    protected override void WriteFields(IDictionary<string, JsonNode?> fields)
    {
        fields["r"] = R;
        fields["lora_alpha"] = Number(LoraAlpha);
        fields["lora_dropout"] = LoraDropout;
        fields["target_modules"] = TargetModules.Names is { } names ? new JsonArray(names.Select(n => (JsonNode?)n).ToArray()) : TargetModules.Pattern;
        fields["bias"] = "none";
        fields["use_rslora"] = UseRsLora;
        fields["use_dora"] = UseDora;
        fields["modules_to_save"] = ModulesToSave is null ? null : new JsonArray(ModulesToSave.Select(n => (JsonNode?)n).ToArray());
        fields["fan_in_fan_out"] = FanInFanOut;
        fields["init_lora_weights"] = InitLoraWeightsMethod is { } method ? method : InitLoraWeights;
        var ranks = new JsonObject();
        foreach (var (k, v) in RankPattern) ranks[k] = v;
        fields["rank_pattern"] = ranks;
        var alphas = new JsonObject();
        foreach (var (k, v) in AlphaPattern) alphas[k] = Number(v);
        fields["alpha_pattern"] = alphas;
    }

    /// <summary>An integral alpha as a JSON integer (16, as PEFT writes it), else a float.</summary>
    static JsonNode Number(double v) => v == Math.Floor(v) && Math.Abs(v) < int.MaxValue ? JsonValue.Create((int)v) : JsonValue.Create(v);
}
