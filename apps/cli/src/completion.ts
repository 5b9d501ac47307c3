import type { Command, Option } from "commander";

/**
 * Static completion scripts generated from the commander tree, so they always match the flags.
 * Hand-written rather than @pnpm/tabtab or omelette: those call back into node on every TAB (about
 * 150 ms each) and edit shell rc files; a static script is instant and the user installs it.
 */
interface Node {
  name: string;
  description: string;
  options: Array<{ flags: string[]; description: string; takesValue: boolean; choices?: readonly string[] }>;
  children: Node[];
}

function describeOption(o: Option): Node["options"][number] {
  const flags = [o.short, o.long].filter((f): f is string => typeof f === "string");
  const entry: Node["options"][number] = {
    flags,
    description: o.description,
    takesValue: o.required || o.optional,
  };
  if (o.argChoices) entry.choices = o.argChoices;
  return entry;
}

function tree(command: Command, globals: Node["options"] = []): Node {
  return {
    name: command.name(),
    description: command.description(),
    options: [
      ...command.options.map(describeOption),
      ...globals,
      { flags: ["-h", "--help"], description: "display help", takesValue: false },
    ],
    children: command.commands.filter((c) => c.name() !== "help").map((c) => tree(c, globals)),
  };
}

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export function bashCompletion(program: Command): string {
  const root = tree(program);
  const paths: Array<{ path: string; words: string[] }> = [];
  const walk = (node: Node, path: string, inherited: Node["options"]) => {
    const options = [...node.options, ...inherited];
    paths.push({ path, words: [...node.children.map((c) => c.name), ...options.flatMap((o) => o.flags)] });
    for (const c of node.children)
      walk(c, path ? `${path} ${c.name}` : c.name, path ? inherited : root.options);
  };
  walk(root, "", []);
  const all = [root, ...root.children, ...root.children.flatMap((c) => c.children)].flatMap((n) => n.options);
  const choices = new Map<string, string>();
  for (const o of all) if (o.choices) choices.set(o.flags.join("|"), o.choices.join(" "));
  const known = paths
    .filter((p) => p.path)
    .map((p) => q(p.path))
    .join("|");
  return `# bash completion for cloudadmin: source it, or save it as
#   ~/.local/share/bash-completion/completions/cloudadmin
_cloudadmin() {
  local cur prev path="" cand opts i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
${[...choices].map(([flags, words]) => `    ${flags}) COMPREPLY=( $(compgen -W ${q(words)} -- "$cur") ); return ;;`).join("\n")}
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    cand="\${path:+$path }$w"
    case "$cand" in
      ${known}) path="$cand" ;;
    esac
  done
  case "$path" in
${paths.map((p) => `    ${q(p.path)}) opts=${q(p.words.join(" "))} ;;`).join("\n")}
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  [[ "$cur" != -* ]] && COMPREPLY+=( $(compgen -f -- "$cur") )
}
complete -F _cloudadmin cloudadmin
`;
}

export function zshCompletion(program: Command): string {
  const root = tree(program);
  const spec = (o: Node["options"][number]) => {
    const desc = o.description.replace(/[[\]:'\\]/g, " ");
    const value = o.takesValue ? (o.choices ? `:value:(${o.choices.join(" ")})` : ":value:_files") : "";
    return o.flags.map((f) => `'${f}[${desc}]${value}'`).join(" ");
  };
  const fn = (node: Node, name: string, globals: Node["options"]): string[] => {
    const options = [...node.options, ...globals].map(spec).join(" \\\n    ");
    if (node.children.length === 0)
      return [`${name}() {\n  _arguments -s \\\n    ${options} \\\n    '*:file:_files'\n}`];
    const subs = node.children.map((c) => `'${c.name}:${c.description.replace(/[':\\]/g, " ")}'`).join(" ");
    const dispatch = node.children
      .map((c) => `    ${c.name}) ${name}_${c.name.replace(/-/g, "_")} ;;`)
      .join("\n");
    return [
      `${name}() {\n  local line state\n  _arguments -C \\\n    ${options} \\\n    '1: :->cmd' \\\n    '*:: :->args'\n  case $state in\n    cmd) _describe -t commands command "(${subs})" ;;\n    args)\n      case $line[1] in\n${dispatch}\n      esac ;;\n  esac\n}`,
      ...node.children.flatMap((c) =>
        fn(c, `${name}_${c.name.replace(/-/g, "_")}`, name === "_cloudadmin" ? root.options : globals),
      ),
    ];
  };
  return `#compdef cloudadmin
# zsh completion for cloudadmin: save as _cloudadmin in a folder of your $fpath, then compinit.
${fn(root, "_cloudadmin", []).join("\n\n")}

compdef _cloudadmin cloudadmin
`;
}

export function fishCompletion(program: Command): string {
  const root = tree(program);
  const lines = [
    "# fish completion for cloudadmin: save as ~/.config/fish/completions/cloudadmin.fish",
    "complete -c cloudadmin -f",
  ];
  const optionLine = (o: Node["options"][number], condition: string) => {
    const parts = ["complete -c cloudadmin"];
    if (condition) parts.push(`-n ${q(condition)}`);
    for (const f of o.flags) parts.push(f.startsWith("--") ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`);
    if (o.takesValue) parts.push(o.choices ? `-x -a ${q(o.choices.join(" "))}` : "-r -F");
    parts.push(`-d ${q(o.description)}`);
    return parts.join(" ");
  };
  for (const o of root.options) lines.push(optionLine(o, ""));
  const top = root.children.map((c) => c.name).join(" ");
  for (const c of root.children) {
    lines.push(`complete -c cloudadmin -n ${q("__fish_use_subcommand")} -a ${c.name} -d ${q(c.description)}`);
    const inC = `__fish_seen_subcommand_from ${c.name}`;
    for (const o of c.options) lines.push(optionLine(o, inC));
    for (const s of c.children) {
      lines.push(
        `complete -c cloudadmin -n ${q(`${inC}; and not __fish_seen_subcommand_from ${c.children.map((x) => x.name).join(" ")}`)} -a ${s.name} -d ${q(s.description)}`,
      );
      for (const o of s.options)
        lines.push(optionLine(o, `${inC}; and __fish_seen_subcommand_from ${s.name}`));
    }
  }
  void top;
  return `${lines.join("\n")}\n`;
}
