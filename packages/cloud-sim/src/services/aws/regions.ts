/**
 * The partition's regions as DescribeRegions knows them. The first 17 launched before 2019-03-20
 * and are enabled in every account; the others are opt-in (AWS Account Management, "Enable or
 * disable Regions").
 */
export const DEFAULT_REGIONS: readonly string[] = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ap-south-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "eu-central-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-north-1",
  "sa-east-1",
];

export const OPT_IN_REGIONS: readonly string[] = ["af-south-1", "ap-east-1", "me-south-1", "eu-south-1"];

export const ALL_REGIONS: readonly string[] = [...DEFAULT_REGIONS, ...OPT_IN_REGIONS];

export const REGION_PATTERN = "^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\\d$";
