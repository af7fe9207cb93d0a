using System.CommandLine;
using QuantTune.Cli.Rendering;
using QuantTune.Diagnostics;
using QuantTune.Models.Config;
using QuantTune.SideTuning;
using QuantTune.Training.Alignment;
using QuantTune.Training.Alignment.Grpo;
using QuantTune.Training.Memory;
using Spectre.Console;

namespace QuantTune.Cli.Commands;

public static class PlanCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m")
        {
            Description = $"checkpoint folder, config.json, a shipped config ({string.Join(", ", ConfigSources.ShippedNames)}) or a Hub id [org/]name[@revision] (its config.json from the local Hugging Face cache, else downloaded alone)",
            Required = true,
        };
        model.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && PathKinds.IsGguf(result.Tokens[^1].Value))
                result.AddError($"--model {result.Tokens[^1].Value}: is a GGUF file; plan reads a checkpoint folder's config.json (or the config.json itself)");
        });
        var method = new Option<string>("--method") { Description = "full, lora, qlora, qst or all", DefaultValueFactory = _ => "all" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 4, Description = "sequences per micro-batch" };
        var seq = new Option<int>("--seq") { DefaultValueFactory = _ => 512, Description = "tokens per sequence" };
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "recompute each layer in backward: only the layers' inputs are kept (full, lora, qlora)" };
        var optimizer = new Option<string>("--optimizer") { DefaultValueFactory = _ => "adamw", Description = "adamw (32-bit moments), adamw8bit or paged-adamw (moments in host memory)" };
        var dora = new Option<bool>("--dora") { Description = "lora and qlora rows with DoRA (magnitude vectors and the column norms' temporaries)" };
        var context = new Option<double?>("--cuda-context") { Description = "GiB the CUDA context takes before any tensor (default 0.5 on cuda, 0 on cpu), counted in the total" };
        var rank = new Option<int>("--rank", "-r") { DefaultValueFactory = _ => 64, Description = "LoRA rank" };
        var reduction = new Option<int>("--reduction") { DefaultValueFactory = _ => 16, Description = "QST reduction factor" };
        var sideDtype = Options.SideDType("QST side network: fp32 or bf16 (norms fp32, AdamW moments fp32)");
        var dtype = new Option<string>("--dtype") { DefaultValueFactory = _ => "bf16", Description = "weights and activations: bf16 (GPU) or fp32 (CPU)" };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cuda", Description = "cuda (flash attention keeps no probabilities) or cpu (the math kernel keeps them)" };
        var budget = new Option<double?>("--budget") { Description = "memory budget in GiB: says which methods fit" };
        var objective = new Option<string>("--objective")
        {
            DefaultValueFactory = _ => "sft",
            Description = $"sft, grpo (--batch counts prompts, each sampled --num-generations times; --seq is prompt + completion), or a preference objective ({AlignmentObjectiveRegistry.Names}: paired objectives put chosen and rejected through the model in one batch; --batch counts pairs)",
        };
        var generations = new Option<int>("--num-generations") { DefaultValueFactory = _ => 8, Description = "grpo: completions sampled per prompt (TRL: 8)" };
        var json = Options.Json();
        var cmd = new Command("plan", "Predict M1 (weights), M2 (optimizer + gradients), M3 (activations) and the peak for full fine-tuning, LoRA, QLoRA and QST.")
            { model, method, batch, seq, rank, reduction, sideDtype, dtype, device, checkpointing, optimizer, dora, context, budget, objective, generations, json };
        cmd.SetAction(r =>
        {
            var path = ConfigSources.Resolve(Assets.ModelPath(r.GetValue(model)!));
            var config = ModelConfig.Load(path);
            var methods = r.GetValue(method) == "all" ? MemoryPlanner.Methods : [r.GetValue(method)!];
            int bytes = r.GetValue(dtype) switch { "bf16" or "fp16" => 2, "fp32" => 4, var d => throw new QuantTuneException($"--dtype {d}: expected bf16, fp16 or fp32") };
            bool cpu = r.GetValue(device) switch { "cpu" => true, "cuda" => false, var d => throw new QuantTuneException($"--device {d}: expected cuda or cpu") };
            double contextGiB = r.GetValue(context) ?? (cpu ? 0 : 0.5);
            if (!(contextGiB >= 0)) throw new QuantTuneException($"--cuda-context {contextGiB}: expected 0 or more GiB");
            if (r.GetValue(budget) is double bg && !(bg > 0)) throw new QuantTuneException($"--budget {bg}: expected a positive number of GiB");
            string objectiveName = r.GetValue(objective)!;
            var aligned = objectiveName is "sft" or "grpo" ? null
                : AlignmentObjectiveRegistry.All.FirstOrDefault(o => o.Name == objectiveName)
                  ?? throw new QuantTuneException($"--objective {objectiveName}: expected sft, grpo or one of {AlignmentObjectiveRegistry.Names}");
            Func<PlanRequest, MemoryPlan> planner = objectiveName == "grpo" ? request => GrpoMemoryPlan.Plan(request, r.GetValue(generations))
                : aligned is null ? MemoryPlanner.Plan : request => AlignmentMemoryPlan.Plan(request, aligned);
            var plans = methods.Select(m => planner(new PlanRequest(config, m, r.GetValue(batch), r.GetValue(seq))
            {
                ElementBytes = bytes,
                LoraRank = r.GetValue(rank),
                Qst = new QstConfig { Reduction = r.GetValue(reduction), SideDType = QstConfig.ParseSideDType(r.GetValue(sideDtype)!) },
                AttentionProbabilitiesKept = cpu,
                GradientCheckpointing = r.GetValue(checkpointing),
                Optimizer = r.GetValue(optimizer)!,
                Dora = r.GetValue(dora),
                ContextBytes = (long)(contextGiB * (1L << 30)),
            })).ToList();
            long? budgetBytes = r.GetValue(budget) is double g ? (long)(g * (1L << 30)) : null;
            if (r.GetValue(json)) JsonOutput.Write(new { model = path, objective = r.GetValue(objective), batch = r.GetValue(batch), seq = r.GetValue(seq), plans, budget_bytes = budgetBytes, fits = budgetBytes is long bb ? plans.Where(p => p.Fits(bb)).Select(p => p.Method) : null });
            else
            {
                var headers = new List<string> { "method", "trainable", "M1 weights", "M2 optimizer+grads", "M3 activations", "peak", "total" };
                if (budgetBytes is not null) headers.Add("fits");
                var rows = plans.Select(p =>
                {
                    var row = new List<string> { p.Method, $"{p.TrainableParameters:N0}", ModelSummaryView.Bytes(p.M1), ModelSummaryView.Bytes(p.M2), ModelSummaryView.Bytes(p.M3), ModelSummaryView.Bytes(p.Peak), ModelSummaryView.Bytes(p.Total) };
                    if (budgetBytes is long b) row.Add(p.Fits(b) ? "yes" : "no");
                    return row;
                }).ToList();
                PlainTable.Write(headers, rows);
                var notes = $"batch {r.GetValue(batch)} × {r.GetValue(seq)} tokens, {r.GetValue(dtype)}, {r.GetValue(optimizer)}, LoRA r = {r.GetValue(rank)}{(r.GetValue(dora) ? " with DoRA" : "")}, QST r = {r.GetValue(reduction)} ({r.GetValue(sideDtype)} side), " +
                    (r.GetValue(checkpointing) ? "gradient checkpointing" : "no gradient checkpointing") + $"; total = peak + {contextGiB:0.##} GiB {(cpu ? "device overhead" : "CUDA context")}";
                if (objectiveName == "grpo")
                    notes += $"; grpo: {(long)r.GetValue(batch) * r.GetValue(generations)} sequences per step ({r.GetValue(generations)} completions per prompt), " +
                        $"sampling holds a KV cache of {ModelSummaryView.Bytes(plans[0].GenerationBytes)} beside the weights (the peak is the larger phase's)";
                if (aligned is not null)
                    notes += $"; {aligned.Name}: " + (aligned.Paired ? $"{AlignmentMemoryPlan.SequencesPerStep(r.GetValue(batch), aligned)} sequences per step (chosen and rejected of each pair)" : "one sequence per completion")
                        + (aligned.UsesReference ? ", the reference's log-probabilities from the same weights without gradients" : ", no reference model");
                if (plans.FirstOrDefault(p => p.HostOptimizerBytes > 0) is { } paged) notes += $"; paged AdamW keeps {ModelSummaryView.Bytes(paged.HostOptimizerBytes)} of moments in host memory";
                Console.WriteLine(notes);
            }
            return 0;
        });
        return cmd;
    }
}
