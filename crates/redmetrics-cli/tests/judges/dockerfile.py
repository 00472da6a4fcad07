"""Independent judge: parse a Dockerfile with PyPI's dockerfile-parse.

Usage: dockerfile.py PATH  -> {"stages": [{"from": image, "name": alias or null,
                                "instructions": [{"instruction": ..., "value": ...}]}]}
"""

import json
import sys

from dockerfile_parse import DockerfileParser


def main():
    parser = DockerfileParser(path=sys.argv[1])
    stages = []
    for item in parser.structure:
        instruction, value = item["instruction"], item["value"]
        if instruction == "FROM":
            words = value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append({"from": words[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append({"instruction": instruction, "value": value})
    json.dump({"stages": stages}, sys.stdout)


if __name__ == "__main__":
    main()
